/* prov_bus_codec.c -- the provisioning bus's seat, offer and answer messages (prov_bus_codec.h).
 *
 * Every message is a wire.h record (bounds-checked reader, length-prefixed strings and bytes)
 * that starts with a version or a status byte. Everything in them is public (nonces, offers,
 * sealed packages), so a decoder only has to refuse what is malformed: it never trusts a length,
 * copies strings into fixed buffers and leaves bytes pointing into the message. */
#include "provision/prov_bus_codec.h"

#include <string.h>

bool prov_bus_name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > PROV_BUS_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
            return false;
    return true;
}

static bool token_ok(const char *t)
{
    return strlen(t) == PROV_TOKEN_HEX && strspn(t, "0123456789abcdef") == PROV_TOKEN_HEX;
}

int prov_bus_msg_seat_encode(const struct prov_bus_msg_seat *m, struct wire_writer *w)
{
    wire_put_u8(w, PROV_MSG_VERSION);
    wire_put_str(w, m->session);
    wire_put_u32(w, m->seat);
    wire_put_bytes(w, m->nonce, sizeof m->nonce);
    wire_put_bytes(w, m->info, m->info_len);
    return wire_writer_ok(w) ? 0 : -1;
}

int prov_bus_msg_seat_decode(struct prov_bus_msg_seat *m, const uint8_t *buf, size_t len)
{
    struct wire_reader r;
    wire_reader_init(&r, buf, len);
    uint8_t version = wire_get_u8(&r);
    wire_get_str(&r, m->session, sizeof m->session);
    m->seat = wire_get_u32(&r);
    wire_get_bytes_exact(&r, m->nonce, sizeof m->nonce);
    m->info = wire_get_bytes(&r, PROV_INFO_MAX, &m->info_len);
    return wire_reader_finish(&r) == 0 && version == PROV_MSG_VERSION &&
                   prov_bus_name_ok(m->session)
               ? 0
               : -1;
}

int prov_bus_msg_offer_encode(const struct prov_bus_msg_offer *m, struct wire_writer *w)
{
    wire_put_u8(w, PROV_MSG_VERSION);
    wire_put_u32(w, m->seat);
    wire_put_str(w, m->token);
    wire_put_str(w, m->label);
    wire_put_bytes(w, m->offer, m->offer_len);
    return wire_writer_ok(w) ? 0 : -1;
}

int prov_bus_msg_offer_decode(struct prov_bus_msg_offer *m, const uint8_t *buf, size_t len)
{
    struct wire_reader r;
    wire_reader_init(&r, buf, len);
    uint8_t version = wire_get_u8(&r);
    m->seat = wire_get_u32(&r);
    wire_get_str(&r, m->token, sizeof m->token);
    wire_get_str(&r, m->label, sizeof m->label);
    m->offer = wire_get_bytes(&r, SIZE_MAX, &m->offer_len);
    return wire_reader_finish(&r) == 0 && version == PROV_MSG_VERSION && token_ok(m->token) ? 0
                                                                                            : -1;
}

int prov_bus_msg_answer_encode(const struct prov_bus_msg_answer *m, struct wire_writer *w)
{
    wire_put_u8(w, m->status);
    wire_put_bytes(w, m->package, m->package_len);
    wire_put_bytes(w, m->extra, m->extra_len);
    wire_put_str(w, m->message);
    return wire_writer_ok(w) ? 0 : -1;
}

int prov_bus_msg_answer_decode(struct prov_bus_msg_answer *m, const uint8_t *buf, size_t len)
{
    struct wire_reader r;
    wire_reader_init(&r, buf, len);
    m->status = wire_get_u8(&r);
    m->package = wire_get_bytes(&r, SIZE_MAX, &m->package_len);
    m->extra = wire_get_bytes(&r, SIZE_MAX, &m->extra_len);
    wire_get_str(&r, m->message, sizeof m->message);
    return wire_reader_finish(&r) == 0 &&
                   (m->status == PROV_ANSWER_PACKAGE || m->status == PROV_ANSWER_REFUSED)
               ? 0
               : -1;
}
