/* xsearch_ecalls.h -- the boundary of the `xsearch` enclave: numbers and layouts shared by the
 * trusted side (src/search/enclave/xsearch_enclave.c) and the proxy's host
 * (src/search/host/proxy.c).
 *
 *   INIT    in: varint history capacity, varint k max, varint cache bytes
 *           out: varint history capacity
 *           (0 sizes: from the enclave's EPC budget; draws the HPKE key pair and the ticket
 *           key; the history starts empty)
 *   KEY     in: raw nonce 32               out: raw public key 32, bytes evidence whose report
 *           data is tee_bind_report_data(public key, nonce)
 *   OPEN    in: bytes request (xsearch.h)
 *           out: u8 0, str OR-ed query, u8 n, bytes ticket; or, when the enclave has the
 *           engine's answer to that OR-ed query cached, u8 1, bytes response (as FILTER's)
 *           (the request opened, refused when replayed; Algorithm 1; the ticket carries what
 *           FILTER needs, sealed under the ticket key, so the enclave keeps no per-request
 *           state while the host asks the engine)
 *   FILTER  in: bytes ticket, bytes hits (xsearch.h, the engine's, with matched sub-queries)
 *           out: bytes response (xsearch.h: the kept hits, redirects stripped, sealed for
 *           the client)
 *
 * ticket = nonce 12 || AES-256-GCM(ticket key, aad XSEARCH_TICKET_AAD, u8 filter, u8 n,
 *          varint position, raw enc 32, raw response key 32, str OR-ed query) */
#ifndef CLOISTER_XSEARCH_ECALLS_H
#define CLOISTER_XSEARCH_ECALLS_H

enum {
    XSEARCH_ECALL_INIT = 1,
    XSEARCH_ECALL_KEY = 2,
    XSEARCH_ECALL_OPEN = 3,
    XSEARCH_ECALL_FILTER = 4,
};

#define XSEARCH_TICKET_AAD "CLOISTER-XSEARCH-V01 ticket"
#define XSEARCH_OR_MAX ((SEARCH_K_MAX + 1) * (SEARCH_QUERY_MAX + 4))
#define XSEARCH_TICKET_MAX (12 + 16 + 3 + 10 + 64 + 10 + XSEARCH_OR_MAX)
/* Requests remembered against replay; past half of it, the enclave draws a new key pair
 * (requests to the old one are refused, so none can be replayed) and forgets them. */
#define XSEARCH_SEEN_SLOTS (1u << 17)

#endif
