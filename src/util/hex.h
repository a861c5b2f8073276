/* hex.h -- hexadecimal encoding for keys, digests and test vectors. */
#ifndef CLOISTER_UTIL_HEX_H
#define CLOISTER_UTIL_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Writes 2*len lowercase digits and a NUL to out (size 2*len+1). */
void hex_encode(char *out, const uint8_t *in, size_t len);
/* Decodes an even-length hex string of hexlen characters into at most max bytes. Returns the
 * byte count, or -1 for an odd length, a non-hex character or a too-small buffer. */
long hex_decode(uint8_t *out, size_t max, const char *hex, size_t hexlen);

#endif
