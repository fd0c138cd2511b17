/**
 * The transports' heavy libraries (undici, soap, xmlbuilder2, fast-xml-parser) are imported on
 * first use, not when the worker starts: a worker pays for the libraries of the transports its
 * plugins actually use, when they first use them, and a worker without a SOAP plugin never loads
 * `soap` at all. Each transport module imports its library through {@link lazyImport}.
 */

/**
 * A memoised dynamic import: `load()` imports once and hands every caller the same module. A
 * failed import is forgotten, so a later call tries again (and reports its own error).
 */
export function lazyImport<T>(importer: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () => {
    loading ??= importer().catch((error: unknown) => {
      loading = undefined;
      throw error;
    });
    return loading;
  };
}
