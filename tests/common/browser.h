/* browser.h -- headless Chromium for the tests of a page (browser.c). */
#ifndef CLOISTER_TEST_BROWSER_H
#define CLOISTER_TEST_BROWSER_H

#include <stddef.h>
#include <stdint.h>

/* The DOM headless Chromium builds from url (a file under workdir holds it and Chromium's
 * profile): 0 and *dom (malloc'd, *len bytes); 1 when no chromium is installed (the caller skips,
 * saying so); -1 when Chromium failed. */
int browser_dump_dom(const char *url, const char *workdir, uint8_t **dom, size_t *len);

#endif
