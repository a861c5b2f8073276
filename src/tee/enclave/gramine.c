/* gramine.c -- the enclave image under gramine-sgx (docs/tee.md section 9), in a build with
 * -DCLOISTER_GRAMINE=ON. UNTESTED: there is no SGX on the machines this is developed on, and
 * Gramine is not a Debian package.
 *
 * Gramine exposes the hardware through pseudo-files: write 64 bytes of report data to
 * /dev/attestation/user_report_data, read the DCAP quote from /dev/attestation/quote. The quote
 * goes out in the evidence envelope of tee_trust.h ("CLEV" v1: format, evidence, endorsements)
 * with format "sgx-dcap" and no endorsements (a DCAP verifier fetches the collateral). Gramine
 * runs no seccomp or Landlock of its own for the program, so a Gramine image does not try to
 * install them, and these files stay reachable. That choice is made when the image is built:
 * were it made from what the filesystem shows, a host could switch the sandbox off by creating
 * /dev/attestation/quote. */
#include "tee/enclave/rt.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define QUOTE_MAX 65536

int tee_gramine_evidence(const uint8_t report_data[TEE_REPORT_DATA_LEN], struct wire_writer *out,
                         struct cloister_err *err)
{
    int fd = open("/dev/attestation/user_report_data", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, report_data, TEE_REPORT_DATA_LEN) != TEE_REPORT_DATA_LEN) {
        if (fd >= 0)
            close(fd);
        return cloister_errf(err, CLOISTER_E_SYSTEM, "/dev/attestation/user_report_data: %s",
                             strerror(errno));
    }
    close(fd);
    uint8_t *quote = tee_malloc(QUOTE_MAX);
    fd = quote ? open("/dev/attestation/quote", O_RDONLY | O_CLOEXEC) : -1;
    ssize_t n = fd >= 0 ? read(fd, quote, QUOTE_MAX) : -1;
    int saved = errno;
    if (fd >= 0)
        close(fd);
    if (n > 0) {
        wire_put_header(out, "CLEV", 1);
        wire_put_str(out, "sgx-dcap");
        wire_put_bytes(out, quote, (size_t)n);
        wire_put_varint(out, 0);
    }
    tee_free(quote);
    if (n <= 0)
        return cloister_errf(err, CLOISTER_E_SYSTEM, "/dev/attestation/quote: %s",
                             n < 0 ? strerror(saved) : "empty");
    return 0;
}
