/* ibbe_trace.h -- membership traces for IBBE-SGX: derive one from a git history, as the paper did
 * with the Linux kernel, and replay one through the enclave.
 *
 * A trace is text, one operation per line ("add ID" or "remove ID"); blank lines and lines
 * starting with '#' are skipped (the member-list syntax of ibbe_members_parse).
 *
 *     char *text; size_t len; struct ibbe_trace_stats st;
 *     if (ibbe_trace_from_git("linux", &text, &len, &st, &err) == CLOISTER_OK) ...
 *     struct ibbe_replay r;
 *     ibbe_trace_replay(admin, "kernel", text, len, &r, &err);
 *
 * Errors as in ibbe.h; a trace line that is neither operation is INVALID ("operation 7: ..."). */
#ifndef CLOISTER_IBBE_TRACE_H
#define CLOISTER_IBBE_TRACE_H

#include <cloister/ibbe_admin.h>

struct ibbe_trace_stats {
    size_t commits, authors, adds, removes;
};

/* Runs `git -C repo log --reverse --format=%ae` (git from PATH, no shell: any repo path works)
 * and writes "add ID" at each author's first commit and "remove ID" after their last (authors
 * of the latest commit stay members), under a comment line naming the repository. An email that
 * is not a valid identity is replaced by "unknown-author". *text is malloc'd, NUL-terminated. */
CLOISTER_API int ibbe_trace_from_git(const char *repo, char **text, size_t *len,
                                     struct ibbe_trace_stats *st, struct cloister_err *err);

/* Times of one kind of operation in a replay (seconds). */
struct ibbe_replay_times {
    size_t count;
    double total, median, max;
};

struct ibbe_replay {
    size_t members; /* left in the group at the end */
    size_t skipped; /* removals that would have emptied the group */
    double seconds; /* the whole replay */
    struct ibbe_replay_times add, remove;
};

/* Replays a trace into group through the admin's enclave, one operation per call: the first add
 * creates the group, a removal that would empty it is skipped. text is parsed in place (it must
 * end with a NUL at text[len]). Stops at the first refused operation. */
CLOISTER_API int ibbe_trace_replay(ibbe_admin *a, const char *group, char *text, size_t len,
                                   struct ibbe_replay *out, struct cloister_err *err);

#endif
