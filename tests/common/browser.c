/* browser.c -- headless Chromium for the tests of a page (the X-Search broker's, the Cyclosa
 * node's): Debian's `chromium` (or `chromium-browser`) loads a URL with --dump-dom, which prints
 * the DOM once the page has loaded, so a test sees what a user's browser would show. Without
 * either binary the caller skips: the other checks of the page run on the raw HTML. */
#include "common/browser.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/fileio.h"

static const char *browser_binary(void)
{
    if (system("command -v chromium >/dev/null 2>&1") == 0)
        return "chromium";
    if (system("command -v chromium-browser >/dev/null 2>&1") == 0)
        return "chromium-browser";
    return NULL;
}

int browser_dump_dom(const char *url, const char *workdir, uint8_t **dom, size_t *len)
{
    const char *chromium = browser_binary();
    if (!chromium)
        return 1;
    char out[PATH_MAX + 16], cmd[3 * PATH_MAX + 256];
    snprintf(out, sizeof out, "%s/dom.html", workdir);
    if ((size_t)snprintf(cmd, sizeof cmd,
                         "%s --headless --no-sandbox --disable-gpu --user-data-dir='%s/chromium' "
                         "--dump-dom '%s' >'%s' 2>/dev/null",
                         chromium, workdir, url, out) >= sizeof cmd)
        return -1;
    if (system(cmd) != 0)
        return -1;
    return file_read_all(out, 1 << 22, dom, len) == 0 ? 0 : -1;
}
