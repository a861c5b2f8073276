/* ecalls.h -- the boundary of the `asky` enclave: numbers and layouts shared by the trusted side
 * (src/asky/enclave/asky_enclave.c) and the host driver (src/asky/host/service.c).
 *
 * A master secret drawn by SETUP leaves the enclave only sealed (MRSIGNER policy); from it the
 * enclave derives the name key (user and group names become HMAC ids, so the store never sees
 * a name) and the record key (AES-256-GCM over every record it hands the host).
 *
 *   SETUP        in: -                               out: bytes sealed master secret
 *   LOAD         in: bytes sealed, bytes epoch record (0 bytes: none yet)         out: -
 *   USERS        in: varint count, count × bytes user record                   out: -
 *   NAME         in: u8 what (0 user, 1 group), str name                       out: raw id 32
 *   USER_ADD     in: str user, raw HPKE public key 32 (the user's)
 *                out: raw id 32, bytes user record, raw delivery ASKY_DELIVERY_LEN = enc 32 ‖
 *                HPKE(AES-256-GCM) of the key 32 to that public key, info ASKY_DELIVERY_INFO,
 *                AAD the user's name (CLOISTER_E_EXISTS: the enclave holds that user)
 *   USER_ADD_SEALED in: a provisioning package holding the secret ASKY_USER_SECRET = str
 *                user, raw public key 32 (a remote admin's request)       out: as USER_ADD
 *   USER_FORGET  in: raw user id 32 (its record deleted by the host)              out: -
 *   EPOCH        in: the epoch record (refused when older than one loaded)        out: -
 *   GROUP_CREATE in: str group, str creator                                     out: CHANGE
 *   GROUP_ADD    in: str group, str user, bytes group record                   out: CHANGE
 *   GROUP_REMOVE in: str group, str user, bytes group record                   out: CHANGE
 *   ENVELOPE     in: str group, str user, raw nonce 16, raw proof 32, u8 kind, varint pad,
 *                    bytes group record                                     out: bytes envelope
 *   SEALED_OPEN  in: a provisioning package (tee_verify.h) for an offer the runtime made
 *                (TEE_ECALL_PROV_OFFER), holding the secret ASKY_REQUEST_SECRET = str group,
 *                str user, raw nonce 16, raw proof 32, u8 kind, varint pad, raw reply key 32
 *                                   out: raw group id 32, raw handle 16 (the request kept)
 *   SEALED_ENVELOPE in: raw handle 16, bytes group record (of that id)
 *                out: bytes reply = nonce 12 ‖ GCM(reply key, envelope ‖ ticket 32), AAD
 *                ASKY_REPLY_AAD (the ENVELOPE checks, then the envelope sealed for the
 *                requester alone, with its write ticket)
 *   TICKET_CHECK in: bytes envelope, raw ticket 32 (CLOISTER_E_DENIED: not one it issued) out: -
 *   SESSION_OPEN in: a provisioning package for an offer the runtime made, holding the secret
 *                ASKY_SESSION_SECRET = raw session key 32       out: raw session id 16
 *                (ASKY_SESSIONS_MAX kept; the least recently used is replaced)
 *   SESSION_REQUEST in: raw session id 16, be64 seq, GCM(session key, nonce = 4 zero bytes ‖
 *                be64 seq, AAD = ASKY_SESSION_AAD ‖ id ‖ be64 seq, the secret of SEALED_OPEN);
 *                seq above the session's last one        out: as SEALED_OPEN
 *
 * CHANGE: raw group id 32, bytes group record, bytes epoch record; the host writes the group
 * record, then the epoch record (both atomically).
 *
 * Records (nonce random per record, AAD binds the kind and id):
 *   user  = id 32 ‖ nonce 12 ‖ GCM(user key 32)                                        92 B
 *   group = id 32 ‖ be64 version ‖ nonce 12 ‖ GCM(count × member id 32)
 *   epoch = be64 counter ‖ nonce 12 ‖ GCM(count × (group id 32 ‖ be64 version))
 * The enclave refuses a group record older than the version in the epoch record it loaded (a
 * rolled-back or replayed record; a newer one was written by another replica, and is taken)
 * and an epoch record older than one it has loaded or written. */
#ifndef CLOISTER_ASKY_ECALLS_H
#define CLOISTER_ASKY_ECALLS_H

enum {
    ASKY_ECALL_SETUP = 1,
    ASKY_ECALL_LOAD = 2,
    ASKY_ECALL_USERS = 3,
    ASKY_ECALL_NAME = 4,
    ASKY_ECALL_USER_ADD = 5,
    ASKY_ECALL_GROUP_CREATE = 6,
    ASKY_ECALL_GROUP_ADD = 7,
    ASKY_ECALL_GROUP_REMOVE = 8,
    ASKY_ECALL_ENVELOPE = 9,
    ASKY_ECALL_USER_FORGET = 10,
    ASKY_ECALL_SEALED_OPEN = 11,
    ASKY_ECALL_SEALED_ENVELOPE = 12,
    ASKY_ECALL_TICKET_CHECK = 13,
    ASKY_ECALL_EPOCH = 14,
    ASKY_ECALL_USER_ADD_SEALED = 15,
    ASKY_ECALL_SESSION_OPEN = 16,
    ASKY_ECALL_SESSION_REQUEST = 17,
};

#define ASKY_ID_LEN 32
#define ASKY_USER_RECORD_LEN (ASKY_ID_LEN + 12 + 32 + 16)
#define ASKY_USERS_BATCH 4096 /* user records per USERS call */
#define ASKY_REQUEST_SECRET "asky:request"
#define ASKY_USER_SECRET "asky:user"
#define ASKY_SESSION_SECRET "asky:session"
#define ASKY_SESSION_AAD "CLOISTER-ASKY-V01 session request"
#define ASKY_SESSIONS_MAX 1024 /* sessions an enclave keeps */
#define ASKY_DELIVERY_INFO "CLOISTER-ASKY-V01 user key"
#define ASKY_DELIVERY_LEN (32 + 32 + 16) /* HPKE enc, the key, the GCM tag */
#define ASKY_HANDLE_LEN 16
#define ASKY_PENDING_MAX 64 /* sealed requests between SEALED_OPEN and SEALED_ENVELOPE */
#define ASKY_REQUEST_MAX (2 * (ASKY_NAME_MAX + 10) + 16 + 32 + 1 + 10 + 32)
#define ASKY_REPLY_AAD "CLOISTER-ASKY-V01 envelope reply"
#define ASKY_REPLY_OVERHEAD (12 + 16)
#define ASKY_TICKET_LABEL "CLOISTER-ASKY-V01 write ticket"
#define ASKY_MASTER_AAD "CLOISTER-ASKY-V01 master secret"

#endif
