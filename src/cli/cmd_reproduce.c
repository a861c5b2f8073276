/* cmd_reproduce.c -- `cloister reproduce`: every figure and table of the thesis summary
 * regenerated from the benchmarks behind it, in one self-contained HTML report, ours beside the
 * paper's.
 *
 * The benchmarks are the bench_* executables of a build tree (bench/CMakeLists.txt; built by
 * `cmake --build BUILD --target benches`), found next to this binary's build tree or in
 * --bench-dir. Each runs once, with smaller sizes under --quick (environment variables each
 * benchmark documents), its CSV on stdout stored as DIR/<bench>.csv, its stderr as
 * DIR/<bench>.log; then its plot (bench/plots/<bench>.gp, embedded in this binary) is drawn, and
 * DIR/<bench>.done marks it finished, so that a second run resumes after the last benchmark
 * that completed. A benchmark that is missing or fails is named in the report; the others go on.
 *
 * The report (DIR/report.html) carries everything inline: each plot as a base64 data URI, and
 * per figure a table of our figure beside the paper's with their ratio, the command that
 * produced it, the machine (lscpu), the commit and the date. The paper's numbers are in the
 * table below (from the thesis summary and the systems' papers), not read from anywhere. */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "cli/cmd_study.h"
#include "util/fileio.h"

/* The plots of bench/plots, embedded (src/cli/CMakeLists.txt, cli_embed). */
extern const unsigned char cli_plots_scbr_match[], cli_plots_epc[], cli_plots_ibbe[],
    cli_plots_mapreduce[], cli_plots_streams[], cli_plots_asky[], cli_plots_xsearch[],
    cli_plots_orch[];

struct bench {
    const char *name;                 /* bench_<name>, <name>.csv */
    const char *quick_env, *full_env; /* "VAR=value ..." */
    const unsigned char *plot;        /* gnuplot script using csv, png, outdir */
};

static const struct bench benches[] = {
    {"scbr_match", "SCBR_BENCH_MAX=100000 SCBR_BENCH_SECONDS=0.05 SCBR_BENCH_CAP_S=3", "",
     cli_plots_scbr_match},
    {"epc", "CLOISTER_EPC_BENCH_BUDGET_MIB=16 CLOISTER_EPC_BENCH_SECONDS=0.05", "", cli_plots_epc},
    {"ibbe", "IBBE_BENCH_MAX_N=10000 IBBE_BENCH_MAX_HE_N=10000 IBBE_BENCH_MAX_SGX_N=1000", "",
     cli_plots_ibbe},
    {"mapreduce",
     "CLOISTER_MR_BENCH_MB=2 CLOISTER_MR_BENCH_POINTS=5000 CLOISTER_MR_BENCH_MODES=lua-none,"
     "lua-sim,lua-proc,lua-proc-small-epc",
     "", cli_plots_mapreduce},
    {"streams", "CLOISTER_STREAMS_BENCH_ROWS=50000 CLOISTER_STREAMS_BENCH_PACED_S=0.5", "",
     cli_plots_streams},
    {"asky", "ASKY_BENCH_MAX_N=10000 ASKY_BENCH_MAX_HPKE_N=1000", "", cli_plots_asky},
    {"xsearch", "XSEARCH_BENCH_REQUESTS=5000", "", cli_plots_xsearch},
    {"orch", "ORCH_BENCH_JOBS=20000", "", cli_plots_orch},
};
#define NBENCHES (sizeof benches / sizeof benches[0])

/* One of our figures beside the paper's. `where` selects CSV rows ("col=value;..."; numbers
 * compare as numbers); ours is `col` of the first such row (or the largest, with max), divided
 * by the same column of the row `over` selects when there is one. paper is NAN when the paper
 * gives no number (then no ratio). */
struct compare {
    const char *what, *where, *over, *col;
    bool max;
    double paper;
    const char *paper_text;
};

struct figure {
    const char *id, *title, *bench;
    struct compare rows[6];
};

static const struct figure figures[] = {
    {"fig2a",
     "Figure 2a: SCBR matching time against subscriptions (native and enclaved SCBR, native ASPE)",
     "scbr_match",
     {{"ASPE time / enclaved SCBR (poset) time, 10^4 subscriptions (the poset's largest under "
       "--quick)",
       "engine=aspe;placement=native;subs=10000", "engine=poset;placement=enclave;subs=10000",
       "us_per_pub", false, 10, "about one order of magnitude"},
      {"enclaved / native SCBR (poset), 10^4 subscriptions (index in the LLC)",
       "engine=poset;placement=enclave;subs=10000", "engine=poset;placement=native;subs=10000",
       "us_per_pub", false, 1, "near-native while the index fits the LLC"}}},
    {"fig2b",
     "Figure 2b: the EPC cliff (accesses past the EPC budget)",
     "epc",
     {{"slowdown at 2x the EPC budget (random accesses, EPC / no budget)",
       "pattern=random;mode=epc;ws_over_budget=2", "pattern=random;mode=unlimited;ws_over_budget=2",
       "ns_per_access", false, 18, "up to 18x with about twice the EPC"},
      {"slowdown at 0.5x the EPC budget", "pattern=random;mode=epc;ws_over_budget=0.5",
       "pattern=random;mode=unlimited;ws_over_budget=0.5", "ns_per_access", false, 1,
       "no cliff below the EPC"}}},
    {"fig3",
     "Figure 3: IBBE-SGX against hybrid encryption (HE)",
     "ibbe",
     {{"setup, partition n = 1000 (s)", "OP=ibbe_setup;n=1000", NULL, "seconds", false, 1.31,
       "1.31 s"},
      {"add a member (s)", "OP=ibbe_add;n=1000", NULL, "seconds", false, 2.72e-3, "2.72 ms median"},
      {"create N = 10^4: RSA HE time / IBBE-SGX time", "OP=rsa_create;N=10000",
       "OP=ibbe_create;N=10000;n=1000", "seconds", false, NAN,
       "orders of magnitude in HE's disfavour"}}},
    {"table1",
     "Table 1: IBBE-SGX complexities (create group key O(mn) = O(N))",
     "ibbe",
     {{"create N = 10^4 / create N = 10^3 time (n = 1000): linear in N",
       "OP=ibbe_create;N=10000;n=1000", "OP=ibbe_create;N=1000;n=1000", "seconds", false, 10,
       "O(mn): 10x for 10x N"},
      {"HE create N = 10^4 / N = 10^3 time", "OP=rsa_create;N=10000", "OP=rsa_create;N=1000",
       "seconds", false, 10, "O(N): 10x for 10x N"}}},
    {"mapreduce",
     "Lightweight MapReduce throughput (word count, k-means)",
     "mapreduce",
     {{"word count, 1 proc enclave worker (MB/s)", "app=wordcount;mode=lua-proc;workers=1", NULL,
       "mb_s", false, NAN, "no figures published (workshop paper)"},
      {"word count, proc enclave / plain Lua throughput (1 worker)",
       "app=wordcount;mode=lua-proc;workers=1", "app=wordcount;mode=lua-none;workers=1", "mb_s",
       false, NAN, "Lua in SGX: 0.97-1.18x native time while the heap stays within 25 MB"}}},
    {"streams",
     "SecureStreams throughput (the flights pipeline)",
     "streams",
     {{"plain pipeline (events/s)", "kind=throughput;config=none", NULL, "events_per_s", false,
       72000, "about 72k rows/s, cleartext, no SGX, 1 worker"},
      {"secure filter and reduce in proc enclaves (events/s)",
       "kind=throughput;config=paper;tee=proc;batch=1024", NULL, "events_per_s", false, 14000,
       "about 14k rows/s, encrypted, SGX, 1 worker"}}},
    {"asky",
     "A-Sky key envelopes",
     "asky",
     {{"indexed envelope of 10,000 members (s)", "OP=indexed_build;N=10000", NULL, "seconds", false,
       8e-3, "about 8 ms (the original)"}}},
    {"fig5a",
     "Figure 5a: re-identification rate (SimAttack)",
     "xsearch",
     {{"X-Search, k = 7", "metric=reid;system=xsearch;k=7", NULL, "a", false, 0.06, "6 %"},
      {"Cyclosa, k = 7 (a search's k + 1 messages linked, scored as the paper does)",
       "metric=reid;system=cyclosa-linked;k=7", NULL, "a", false, 0.04, "4 %"},
      {"Tor (k = 0)", "metric=reid;system=tor;k=0", NULL, "a", false, 0.36, "about 36 %"},
      {"TrackMeNot, k = 7", "metric=reid;system=trackmenot;k=7", NULL, "a", false, 0.45, "45 %"},
      {"GooPIR, k = 7", "metric=reid;system=goopir;k=7", NULL, "a", false, 0.50, "50 %"}}},
    {"fig5b",
     "Figure 5b: accuracy of the results (precision of the filtered results)",
     "xsearch",
     {{"X-Search, match-aware filter, k = 2 (precision)", "metric=accuracy;system=match;k=2", NULL,
       "a", false, 0.80, "> 80 % at k = 2"},
      {"X-Search, word-count filter, k = 2 (precision)", "metric=accuracy;system=words;k=2", NULL,
       "a", false, 0.80, "> 80 % at k = 2 (filtering systems 65-70 %)"}}},
    {"orch",
     "SGX-aware orchestration: waiting-time and turnaround CDFs",
     "orch",
     {{"longest wait, binpack, 100 % SGX jobs (s)", "kind=wait_cdf;policy=binpack;sgx_fraction=1",
       NULL, "x", true, 4696, "4,696 s"},
      {"scheduling decision, 1,000 nodes, binpack (ns)", "kind=decision;policy=binpack;x=1000",
       NULL, "y", false, 1e6, "<= 1 ms"}}},
};
#define NFIGURES (sizeof figures / sizeof figures[0])

/* ---- CSV lookup ------------------------------------------------------------------------------ */

#define CSV_COLS 32

/* Splits line (modified) at commas into at most CSV_COLS fields; returns how many. */
static size_t csv_split(char *line, char **f)
{
    size_t n = 0;
    for (char *p = line; n < CSV_COLS;) {
        f[n++] = p;
        char *c = strchr(p, ',');
        if (!c)
            break;
        *c = 0;
        p = c + 1;
    }
    return n;
}

static int csv_col(char **head, size_t nh, const char *name, size_t len)
{
    for (size_t i = 0; i < nh; i++)
        if (strlen(head[i]) == len && strncmp(head[i], name, len) == 0)
            return (int)i;
    return -1;
}

static bool same_value(const char *a, const char *b, size_t blen)
{
    char want[128], *end1, *end2;
    snprintf(want, sizeof want, "%.*s", (int)blen, b);
    if (strcmp(a, want) == 0)
        return true;
    double x = strtod(a, &end1), y = strtod(want, &end2);
    return *a && *want && !*end1 && !*end2 && fabs(x - y) <= 1e-9 * (fabs(x) + fabs(y));
}

/* True when the row (fields f under header head) satisfies every "col=value" of where. */
static bool row_matches(char **head, size_t nh, char **f, size_t nf, const char *where)
{
    for (const char *p = where; *p;) {
        size_t len = strcspn(p, ";"), eq = strcspn(p, "=");
        if (eq >= len)
            return false;
        int c = csv_col(head, nh, p, eq);
        if (c < 0 || (size_t)c >= nf || !same_value(f[c], p + eq + 1, len - eq - 1))
            return false;
        p += len + (p[len] == ';');
    }
    return true;
}

/* col of the first row (or the largest) that where selects, in the CSV text; NAN if none. */
static double csv_lookup(const char *text, const char *where, const char *col, bool max)
{
    char *copy = strdup(text), *save = NULL, *head[CSV_COLS], *f[CSV_COLS];
    char *line = copy ? strtok_r(copy, "\n", &save) : NULL;
    size_t nh = line ? csv_split(line, head) : 0;
    int c = nh ? csv_col(head, nh, col, strlen(col)) : -1;
    double v = NAN;
    while (c >= 0 && (line = strtok_r(NULL, "\n", &save)) != NULL) {
        size_t nf = csv_split(line, f);
        if ((size_t)c >= nf || !row_matches(head, nh, f, nf, where))
            continue;
        double x = strtod(f[c], NULL);
        if (!max) {
            v = x;
            break;
        }
        v = isnan(v) || x > v ? x : v;
    }
    free(copy);
    return v;
}

/* ---- running the benchmarks ---------------------------------------------------------------- */

struct run {
    const char *out, *bench_dir;
    bool quick;
    const char *status[NBENCHES]; /* "done", "resumed", "missing", "failed" */
    char command[NBENCHES][512];
};

static int find_bench(const char *dir, const char *name, char *path, size_t cap)
{
    char pattern[4200];
    glob_t g;
    snprintf(pattern, sizeof pattern, "%s/{,*/}bench_%s", dir, name);
    int rc = glob(pattern, GLOB_BRACE, NULL, &g);
    bool ok = rc == 0 && g.gl_pathc > 0 && access(g.gl_pathv[0], X_OK) == 0;
    if (ok)
        snprintf(path, cap, "%s", g.gl_pathv[0]);
    globfree(&g);
    return ok ? 0 : -1;
}

/* Child: the "VAR=value ..." settings, stdout to csv, stderr to log, then the benchmark. */
static void exec_bench(const char *exe, const char *env, const char *out, const char *csv,
                       const char *log)
{
    char vars[512];
    snprintf(vars, sizeof vars, "%s", env);
    char *save = NULL;
    for (char *v = strtok_r(vars, " ", &save); v; v = strtok_r(NULL, " ", &save))
        putenv(v);
    int o = open(csv, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int e = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (o < 0 || e < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
        _exit(126);
    execl(exe, exe, out, (char *)NULL);
    _exit(127);
}

static int draw(const struct run *r, const struct bench *b)
{
    char pre[16384];
    snprintf(pre, sizeof pre, "csv = '%s/%s.csv'\npng = '%s/%s.png'\noutdir = '%s'\n%s", r->out,
             b->name, r->out, b->name, r->out,
             r->quick ? "set label 999 'quick: small sizes' at screen 0.99,0.015 right "
                        "textcolor rgb 'red'\n"
                      : "");
    return study_gnuplot(pre, (const char *)b->plot);
}

static void run_bench(struct run *r, size_t i)
{
    const struct bench *b = &benches[i];
    const char *env = r->quick ? b->quick_env : b->full_env;
    char exe[4200], done[4200], csv[4200], tmp[4300], log[4200];
    snprintf(done, sizeof done, "%s/%s.done", r->out, b->name);
    snprintf(csv, sizeof csv, "%s/%s.csv", r->out, b->name);
    snprintf(tmp, sizeof tmp, "%s.part", csv);
    snprintf(log, sizeof log, "%s/%s.log", r->out, b->name);
    bool have = find_bench(r->bench_dir, b->name, exe, sizeof exe) == 0;
    snprintf(r->command[i], sizeof r->command[i], "%s%sbench_%s %s", env, *env ? " " : "", b->name,
             r->out);
    uint8_t *was = NULL;
    size_t wlen = 0;
    bool same = file_read_all(done, 4096, &was, &wlen) == 0 && wlen == strlen(r->command[i]) &&
                memcmp(was, r->command[i], wlen) == 0;
    free(was);
    if (same) { /* finished by an earlier run with the same command */
        r->status[i] = "resumed";
        return;
    }
    if (!have) {
        r->status[i] = "missing";
        fprintf(stderr, "bench_%s: not found under %s (cmake --build BUILD --target benches)\n",
                b->name, r->bench_dir);
        return;
    }
    fprintf(stderr, "== bench %s%s ==\n", b->name, r->quick ? " (quick)" : "");
    pid_t pid = fork();
    if (pid == 0)
        exec_bench(exe, env, r->out, tmp, log);
    int st = -1;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0 ||
        rename(tmp, csv) != 0) {
        r->status[i] = "failed";
        fprintf(stderr, "bench_%s failed: see %s\n", b->name, log);
        return;
    }
    if (draw(r, b) != CLI_OK)
        fprintf(stderr, "bench_%s: no plot\n", b->name);
    r->status[i] = file_write_atomic(done, r->command[i], strlen(r->command[i]), 0644) == 0
                       ? "done"
                       : "failed";
}

/* ---- the report ------------------------------------------------------------------------------ */

static void html_text(FILE *f, const char *s)
{
    for (; *s; s++)
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
}

/* RFC 4648 base64 of data, for data URIs. */
static void html_base64(FILE *f, const uint8_t *d, size_t n)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < n ? (uint32_t)d[i + 1] << 8 : 0) |
                     (i + 2 < n ? d[i + 2] : 0);
        char q[4] = {abc[v >> 18], abc[(v >> 12) & 63], i + 1 < n ? abc[(v >> 6) & 63] : '=',
                     i + 2 < n ? abc[v & 63] : '='};
        fwrite(q, 1, 4, f);
    }
}

static void html_image(FILE *f, const char *png, const char *alt)
{
    uint8_t *data = NULL;
    size_t len = 0;
    if (file_read_all(png, 64u << 20, &data, &len) != 0 || len == 0) {
        fputs("<p class=\"missing\">no plot: the benchmark did not run or gnuplot failed</p>\n", f);
        free(data);
        return;
    }
    fputs("<img alt=\"", f);
    html_text(f, alt);
    fputs("\" src=\"data:image/png;base64,", f);
    html_base64(f, data, len);
    fputs("\">\n", f);
    free(data);
}

static void html_number(FILE *f, double v)
{
    if (isnan(v))
        fputs("<td>—</td>", f);
    else
        fprintf(f, "<td>%.4g</td>", v);
}

static void html_figure(FILE *f, const struct run *r, const struct figure *fig)
{
    size_t b = 0;
    while (strcmp(benches[b].name, fig->bench) != 0)
        b++;
    char csv[4200], png[4200];
    snprintf(csv, sizeof csv, "%s/%s.csv", r->out, fig->bench);
    snprintf(png, sizeof png, "%s/%s.png", r->out, fig->bench);
    fprintf(f, "<section class=\"figure\" id=\"%s\">\n<h2>", fig->id);
    html_text(f, fig->title);
    fprintf(f, "%s</h2>\n<p>command: <code>", r->quick ? " (quick)" : "");
    html_text(f, r->command[b]);
    fprintf(f, "</code>; status: %s</p>\n", r->status[b]);
    html_image(f, png, fig->title);
    uint8_t *text = NULL;
    size_t len = 0;
    if (file_read_all(csv, 256u << 20, &text, &len) != 0)
        text = NULL;
    fprintf(f,
            "<table class=\"compare\" data-figure=\"%s\">\n<tr><th>figure</th><th>ours</th>"
            "<th>paper</th><th>paper says</th><th>ours / paper</th></tr>\n",
            fig->id);
    for (const struct compare *c = fig->rows; c->what; c++) {
        double ours = text ? csv_lookup((const char *)text, c->where, c->col, c->max) : NAN;
        if (c->over && text)
            ours /= csv_lookup((const char *)text, c->over, c->col, c->max);
        fputs("<tr><td>", f);
        html_text(f, c->what);
        fputs("</td>", f);
        html_number(f, ours);
        html_number(f, c->paper);
        fputs("<td>", f);
        html_text(f, c->paper_text);
        fputs("</td>", f);
        html_number(f, isnan(c->paper) ? NAN : ours / c->paper);
        fputs("</tr>\n", f);
    }
    fputs("</table>\n</section>\n", f);
    free(text);
}

static void git_commit(char *out, size_t cap)
{
    snprintf(out, cap, "unknown");
    FILE *p = popen("git -C '" CLOISTER_SOURCE_DIR "' describe --always --dirty 2>/dev/null", "r");
    if (p && fgets(out, (int)cap, p))
        out[strcspn(out, "\n")] = 0;
    if (p)
        pclose(p);
}

static int write_report(const struct run *r)
{
    char path[4200], tmp[4300], machine[512], commit[128], date[64];
    snprintf(path, sizeof path, "%s/report.html", r->out);
    snprintf(tmp, sizeof tmp, "%s.part", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return cli_fail("%s: %s", tmp, strerror(errno));
    study_machine(machine, sizeof machine);
    git_commit(commit, sizeof commit);
    time_t now = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&now));
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<title>cloister: the thesis's figures reproduced</title>\n<style>body{font-family:"
          "sans-serif;max-width:1100px;margin:auto}img{max-width:100%}table{border-collapse:"
          "collapse}td,th{border:1px solid #999;padding:2px 6px}.missing{color:#a00}</style>\n"
          "</head><body>\n<h1>The thesis's figures, reproduced",
          f);
    fprintf(f,
            "%s</h1>\n<ul id=\"machine\"><li>machine: ", r->quick ? " (quick: small sizes)" : "");
    html_text(f, machine);
    fprintf(f, "</li><li>commit: %s</li><li>date: %s</li><li>sizes: %s</li></ul>\n", commit, date,
            r->quick ? "quick (smaller than the paper's; figures are indicative)" : "full");
    fputs("<p>Each section: the plot, then our figure beside the paper's with the ratio. The "
          "enclaves here are cloister's simulated ones (no SGX on this machine): see docs/tee.md."
          "</p>\n",
          f);
    for (size_t i = 0; i < NFIGURES; i++)
        html_figure(f, r, &figures[i]);
    /* What a browser made of the page, for the test that loads it: images decoded, tables. */
    fputs("<script>addEventListener('load', function () {\n"
          "  var n = 0;\n"
          "  for (var i = 0; i < document.images.length; i++)\n"
          "    if (document.images[i].complete && document.images[i].naturalWidth > 0) n++;\n"
          "  document.body.setAttribute('data-images-loaded', n);\n"
          "  document.body.setAttribute('data-tables',\n"
          "    document.querySelectorAll('table.compare').length);\n"
          "});</script>\n</body></html>\n",
          f);
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        return cli_fail("%s: %s", path, strerror(errno));
    fprintf(stderr, "report: %s\n", path);
    return CLI_OK;
}

/* <dir of this binary>/../../bench: the build tree's benchmarks (src/cli/cloister). */
static void default_bench_dir(char *out, size_t cap)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = 0;
    snprintf(out, cap, "%s/../../bench", exe);
}

int cli_reproduce(int argc, char **argv)
{
    const char *out = "reproduce-results", *bench_dir = NULL;
    bool quick = false, progress = false;
    const struct opt_def opts[] = {
        {"out", OPT_STRING, &out, "DIR", "results and report.html (default reproduce-results)", 0,
         0, 0},
        {"quick", OPT_FLAG, &quick, NULL, "smaller sizes: about 10 minutes, said on every plot", 0,
         0, 0},
        {"bench-dir", OPT_STRING, &bench_dir, "DIR",
         "where the bench_* executables are (default: this build tree's bench/)", 0, 0, 0},
        {"progress", OPT_FLAG, &progress, NULL, "report progress on stderr (default on a terminal)",
         0, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "reproduce",
        "",
        "Regenerate every figure of the thesis and write one HTML report, ours beside the paper's.",
        opts,
        0,
        0,
        "Runs the benchmark behind each figure and table (SCBR and the EPC cliff, IBBE-SGX\n"
        "against HE, MapReduce, SecureStreams, A-Sky, X-Search and Cyclosa's re-identification\n"
        "and accuracy, the orchestration CDFs), draws each plot, and writes DIR/report.html:\n"
        "plots inline, tables of our figures beside the paper's with the ratio, the machine, the\n"
        "commit, the date and each figure's command. A benchmark that finished leaves\n"
        "DIR/<bench>.done: running again resumes after it (remove DIR to start over). The\n"
        "benchmarks come from a build tree: cmake --build BUILD --target benches.",
        "cloister reproduce --quick --out repro\n"
        "cloister reproduce --out repro-full --bench-dir build/release/bench\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    char dir[4200], abs_out[4096];
    if (!bench_dir) {
        default_bench_dir(dir, sizeof dir);
        bench_dir = dir;
    }
    if (file_mkdirs(out, 0755) != 0 || !realpath(out, abs_out))
        return cli_fail("%s: %s", out, strerror(errno));
    struct run r = {.out = abs_out, .bench_dir = bench_dir, .quick = quick};
    struct cli_progress p;
    cli_progress_start(&p, progress || isatty(2), "benchmarks", NBENCHES);
    for (size_t i = 0; i < NBENCHES; i++) {
        run_bench(&r, i);
        cli_progress_step(&p, i + 1);
    }
    cli_progress_end(&p);
    return write_report(&r);
}
