/* export.h -- what libcloister exports, and which results a caller must look at.
 *
 * The library is built with -fvisibility=hidden: a function is part of the public API, and is
 * exported from libcloister.so, only when its declaration in include/cloister/ carries
 * CLOISTER_API. Internal headers never use it, so internal helpers stay internal.
 * CLOISTER_MUST_CHECK marks results that carry a security decision or an error that cannot be
 * ignored safely (an AEAD open, a signature check, an unseal): the compiler warns when a caller
 * drops them, and the build treats warnings as errors. */
#ifndef CLOISTER_EXPORT_H
#define CLOISTER_EXPORT_H

#define CLOISTER_API __attribute__((visibility("default")))
#define CLOISTER_MUST_CHECK __attribute__((warn_unused_result))

#endif
