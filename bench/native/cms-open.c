/*
 * OpenSSL's own CMS open, as a reference for `npm run bench:wire`: what libcrypto itself achieves
 * on the same sealed message that paygate's open() reads. One open = SMIME_read_CMS of the outer
 * entity, CMS_decrypt, SMIME_read_CMS of the signed entity inside, CMS_verify (the signature, and
 * the signer's chain to the CA unless --no-chain). Prints opens per second of user CPU time, as
 * `openssl speed` counts.
 *
 *   cms-open MESSAGE RECIPIENT_CERT RECIPIENT_KEY CA_CERT SECONDS [--no-chain]
 *
 * Exit 1 when the message does not open (the error queue on stderr), 2 on bad usage.
 */
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static double user_seconds(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return (double)u.ru_utime.tv_sec + (double)u.ru_utime.tv_usec / 1e6;
}

static char *slurp(const char *path, long *length) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) { perror(path); exit(2); }
  fseek(f, 0, SEEK_END);
  *length = ftell(f);
  rewind(f);
  char *bytes = malloc((size_t)*length);
  if (bytes == NULL || fread(bytes, 1, (size_t)*length, f) != (size_t)*length) { perror(path); exit(2); }
  fclose(f);
  return bytes;
}

struct party { X509 *cert; EVP_PKEY *key; X509_STORE *trust; unsigned verify_flags; };

static int open_once(const char *message, long length, const struct party *me) {
  BIO *in = BIO_new_mem_buf(message, (int)length), *inner = BIO_new(BIO_s_mem()), *yaml = BIO_new(BIO_s_mem());
  BIO *detached = NULL;
  CMS_ContentInfo *envelope = NULL, *signed_data = NULL;
  BIO_set_mem_eof_return(inner, 0); /* a drained memory BIO reads as end of file, not "retry" */
  int ok = (envelope = SMIME_read_CMS(in, NULL)) != NULL
    && CMS_decrypt(envelope, me->key, me->cert, NULL, inner, 0)
    && (signed_data = SMIME_read_CMS(inner, &detached)) != NULL
    && CMS_verify(signed_data, NULL, me->trust, detached, yaml, me->verify_flags);
  CMS_ContentInfo_free(envelope);
  CMS_ContentInfo_free(signed_data);
  BIO_free(in); BIO_free(inner); BIO_free(yaml); BIO_free(detached);
  return ok;
}

int main(int argc, char **argv) {
  if (argc < 6) { fprintf(stderr, "usage: cms-open MESSAGE CERT KEY CA SECONDS [--no-chain]\n"); return 2; }
  long length;
  char *message = slurp(argv[1], &length);
  struct party me = { NULL, NULL, X509_STORE_new(), 0 };
  FILE *f = fopen(argv[2], "r");
  if (f != NULL) { me.cert = PEM_read_X509(f, NULL, NULL, NULL); fclose(f); }
  f = fopen(argv[3], "r");
  if (f != NULL) { me.key = PEM_read_PrivateKey(f, NULL, NULL, NULL); fclose(f); }
  if (me.cert == NULL || me.key == NULL || !X509_STORE_load_file(me.trust, argv[4])) {
    ERR_print_errors_fp(stderr);
    return 2;
  }
  if (argc > 6 && strcmp(argv[6], "--no-chain") == 0) me.verify_flags = CMS_NO_SIGNER_CERT_VERIFY;
  if (!open_once(message, length, &me)) {
    fprintf(stderr, "cms-open: the message does not open with this certificate, key and CA\n");
    ERR_print_errors_fp(stderr);
    return 1;
  }
  double seconds = atof(argv[5]);
  long opens = 0, failed = 0;
  for (double warm = user_seconds(); user_seconds() - warm < 0.5;) failed += !open_once(message, length, &me);
  double start = user_seconds();
  while (user_seconds() - start < seconds) {
    for (int i = 0; i < 20; i++) failed += !open_once(message, length, &me);
    opens += 20;
  }
  if (failed) { fprintf(stderr, "%ld opens failed\n", failed); ERR_print_errors_fp(stderr); return 1; }
  printf("%.1f\n", (double)opens / (user_seconds() - start));
  return 0;
}
