/*
 * Where a P-256 ECDH derive's time goes in libcrypto, as a reference for `npm run bench:wire`.
 * Prints microseconds of user CPU time per derive, one line per way of doing it:
 *
 *   reused-context     EVP_PKEY_derive on one context, peer set once (what `openssl speed ecdhp256` times)
 *   fresh-validating   a new context and EVP_PKEY_derive_set_peer() per derive: OpenSSL 3.0 validates the
 *                      peer's public key in full (an n·Q multiplication); what node's crypto.diffieHellman()
 *                      and OpenSSL's own CMS_decrypt do
 *   fresh-unvalidated  the same with EVP_PKEY_derive_set_peer_ex(..., 0)
 *   check-then-compute EC_KEY_check_key() on our own key pair, then ECDH_compute_key(): what node's
 *                      ECDH.computeSecret() does on every call
 *
 *   ecdh-derive SECONDS
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/ec.h>
#include <openssl/ecdh.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

static double user_seconds(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return (double)u.ru_utime.tv_sec + (double)u.ru_utime.tv_usec / 1e6;
}

static EVP_PKEY *ours, *theirs;
static EVP_PKEY_CTX *reused;
static EC_KEY *our_ec;
static const EC_POINT *their_point;

static int derive_reused(void) {
  unsigned char secret[32];
  size_t length = sizeof secret;
  return EVP_PKEY_derive(reused, secret, &length);
}

static int derive_fresh(int validate) {
  unsigned char secret[32];
  size_t length = sizeof secret;
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(ours, NULL);
  int ok = ctx != NULL && EVP_PKEY_derive_init(ctx) > 0 && EVP_PKEY_derive_set_peer_ex(ctx, theirs, validate) > 0
    && EVP_PKEY_derive(ctx, secret, &length) > 0;
  EVP_PKEY_CTX_free(ctx);
  return ok;
}

static int derive_fresh_validating(void) { return derive_fresh(1); }
static int derive_fresh_unvalidated(void) { return derive_fresh(0); }

static int check_then_compute(void) {
  unsigned char secret[32];
  return EC_KEY_check_key(our_ec) && ECDH_compute_key(secret, sizeof secret, their_point, our_ec, NULL) > 0;
}

static void time_it(const char *name, int (*derive)(void), double seconds) {
  if (!derive()) { fprintf(stderr, "%s failed\n", name); exit(1); }
  long n = 0, failed = 0;
  double start = user_seconds();
  while (user_seconds() - start < seconds) {
    for (int i = 0; i < 50; i++) failed += !derive();
    n += 50;
  }
  if (failed) { fprintf(stderr, "%s: %ld derives failed\n", name, failed); exit(1); }
  printf("%-19s %.1f\n", name, (user_seconds() - start) / (double)n * 1e6);
}

int main(int argc, char **argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 1.0;
  ours = EVP_EC_gen("P-256");
  theirs = EVP_EC_gen("P-256");
  reused = EVP_PKEY_CTX_new(ours, NULL);
  if (reused == NULL || EVP_PKEY_derive_init(reused) <= 0 || EVP_PKEY_derive_set_peer(reused, theirs) <= 0) return 1;
  our_ec = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
  EC_KEY *their_ec = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
  if (our_ec == NULL || their_ec == NULL || !EC_KEY_generate_key(our_ec) || !EC_KEY_generate_key(their_ec)) return 1;
  their_point = EC_KEY_get0_public_key(their_ec);
  time_it("reused-context", derive_reused, seconds);
  time_it("fresh-validating", derive_fresh_validating, seconds);
  time_it("fresh-unvalidated", derive_fresh_unvalidated, seconds);
  time_it("check-then-compute", check_then_compute, seconds);
  return 0;
}
