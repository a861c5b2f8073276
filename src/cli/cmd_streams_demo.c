/* cmd_streams_demo.c -- the SecureStreams step of `cloister demo`: the paper's flights pipeline
 * (examples/streams/flights.lua, compiled in) over 100,000 generated flights, its filter and
 * per-carrier reduce in simulated enclaves, and the average delay per carrier. */
#include <cloister/crypto.h>
#include <cloister/streams.h>
#include <cloister/tee.h>
#include <cloister/tee_enclave.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "cli/cmd_streams.h"
#include "util/fileio.h"

extern const unsigned char cli_streams_flights[];
TEE_ENCLAVE_DECLARE(streams);

int cli_streams_demo(void)
{
    cli_demo_heading("SecureStreams: the flights pipeline with secure stages");
    char dir[] = "/tmp/cloister-streams-XXXXXX", input[64], output[64], lua[64], sig[64],
         image[4096];
    uint8_t seed[32];
    if (!mkdtemp(dir))
        return cli_fail("cannot make a temporary directory");
    snprintf(input, sizeof input, "%s/2008.csv", dir);
    snprintf(output, sizeof output, "%s/delays.csv", dir);
    snprintf(lua, sizeof lua, "%s/flights.lua", dir);
    snprintf(sig, sizeof sig, "%s/streams.enclave.sig", dir);
    struct cloister_err err = {0};
    int rc = CLI_OK;
    if (ss_gen_flights(input, 100000, 2008, 1, &err) != 0 ||
        file_write_atomic(lua, cli_streams_flights, strlen((const char *)cli_streams_flights),
                          0644) != 0)
        rc = cli_fail("%s", err.msg[0] ? err.msg : "cannot write the demo's files");
    if (rc == CLI_OK && (crypto_random(seed, sizeof seed) != 0 ||
                         tee_image_path("streams", image, sizeof image, &err) != 0 ||
                         ss_sign_image(image, seed, sig, &err) != 0))
        rc = cli_fail("cannot sign the stage image: %s", err.msg);
    crypto_wipe(seed, sizeof seed);
    const char *pv[4] = {"input", input, "output", output};
    struct ss_options o;
    ss_options_init(&o);
    o.tee = SS_TEE_SIM;
    o.enclave = &tee_enclave_streams;
    o.allow_simulated = true;
    o.signature = sig;
    o.home = dir;
    o.params = pv;
    o.nparams = 2;
    struct ss_stats s;
    printf("100,000 generated 2008 flights; filter and per-carrier reduce in simulated enclaves\n");
    if (rc == CLI_OK && ss_run(lua, &o, &s, &err) != 0)
        rc = cli_fail("%s", err.msg);
    uint8_t *text = NULL;
    size_t len = 0;
    if (rc == CLI_OK && file_read_all(output, 1 << 20, &text, &len) == 0)
        fwrite(text, 1, len, stdout);
    if (rc == CLI_OK)
        cli_streams_print(&s, false);
    free(text);
    file_remove_tree(dir);
    return rc;
}
