/* ss_gen.c -- `streams gen flights`: rows of the Data Expo 2009 on-time schema (29 columns) with
 * the 2008 carrier codes, large US airports, and delays drawn so that about half the flights
 * arrive late (ArrDelay > 0: exponential, mean 30 min), about 2% are cancelled (ArrDelay NA) and
 * the rest arrive early or on time. One seed, one file; written atomically (in memory first). */
#include "util/prng.h"
#include <cloister/streams.h>

#include "util/fileio.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const CARRIERS[] = {"9E", "AA", "AQ", "AS", "B6", "CO", "DL", "EV", "F9", "FL",
                                       "HA", "MQ", "NW", "OH", "OO", "UA", "US", "WN", "XE", "YV"};
static const char *const AIRPORTS[] = {"ATL", "ORD", "DFW", "DEN", "LAX", "PHX", "IAH", "LAS",
                                       "DTW", "SFO", "SLC", "EWR", "MCO", "MSP", "CLT", "JFK",
                                       "LGA", "BOS", "SEA", "PHL", "BWI", "MIA", "MDW", "SAN"};
#define NELEM(a) (sizeof(a) / sizeof(a)[0])

static unsigned pick(uint64_t *s, unsigned n)
{
    return (unsigned)(prng_next(s) % n);
}

/* hhmm after adding minutes to a hhmm time. */
static int clock_add(int hhmm, int minutes)
{
    int m = ((hhmm / 100) * 60 + hhmm % 100 + minutes) % 1440;
    m = m < 0 ? m + 1440 : m;
    return (m / 60) * 100 + m % 60;
}

static void row(FILE *f, uint64_t *s, int year)
{
    int month = 1 + (int)pick(s, 12), day = 1 + (int)pick(s, 28), dow = 1 + (int)pick(s, 7);
    int crs_dep = (6 + (int)pick(s, 17)) * 100 + 5 * (int)pick(s, 12);
    int elapsed = 45 + (int)pick(s, 300), distance = elapsed * 7 + (int)pick(s, 50);
    unsigned o = pick(s, NELEM(AIRPORTS)),
             d = (o + 1 + pick(s, NELEM(AIRPORTS) - 1)) % NELEM(AIRPORTS);
    const char *carrier = CARRIERS[pick(s, NELEM(CARRIERS))];
    double u = prng_uniform(s);
    int crs_arr = clock_add(crs_dep, elapsed);
    fprintf(f, "%d,%d,%d,%d,", year, month, day, dow);
    if (u < 0.02) { /* cancelled */
        fprintf(f, "NA,%d,NA,%d,%s,%u,N%03uAA,NA,%d,NA,NA,NA,%s,%s,%d,0,0,1,%c,0,NA,NA,NA,NA,NA\n",
                crs_dep, crs_arr, carrier, 1 + pick(s, 7000), pick(s, 1000), elapsed, AIRPORTS[o],
                AIRPORTS[d], distance, "ABC"[pick(s, 3)]);
        return;
    }
    int arr_delay = u < 0.52 ? 1 + (int)(-30.0 * log(1.0 - prng_uniform(s))) : -(int)pick(s, 31);
    int dep_delay = arr_delay + (int)pick(s, 21) - 10;
    int taxi_in = 3 + (int)pick(s, 15), taxi_out = 8 + (int)pick(s, 25);
    int actual = elapsed + arr_delay - dep_delay;
    fprintf(f, "%d,%d,%d,%d,%s,%u,N%03uAA,%d,%d,%d,%d,%d,%s,%s,%d,%d,%d,0,,0,",
            clock_add(crs_dep, dep_delay), crs_dep, clock_add(crs_arr, arr_delay), crs_arr, carrier,
            1 + pick(s, 7000), pick(s, 1000), actual, elapsed, actual - taxi_in - taxi_out,
            arr_delay, dep_delay, AIRPORTS[o], AIRPORTS[d], distance, taxi_in, taxi_out);
    if (arr_delay >= 15)
        fprintf(f, "%d,0,%d,0,%d\n", arr_delay / 3, arr_delay / 3, arr_delay - 2 * (arr_delay / 3));
    else
        fputs("NA,NA,NA,NA,NA\n", f);
}

int ss_gen_flights(const char *out, uint64_t rows, int year, uint64_t seed,
                   struct cloister_err *err)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for the flights");
    fputs("Year,Month,DayofMonth,DayOfWeek,DepTime,CRSDepTime,ArrTime,CRSArrTime,UniqueCarrier,"
          "FlightNum,TailNum,ActualElapsedTime,CRSElapsedTime,AirTime,ArrDelay,DepDelay,Origin,"
          "Dest,Distance,TaxiIn,TaxiOut,Cancelled,CancellationCode,Diverted,CarrierDelay,"
          "WeatherDelay,NASDelay,SecurityDelay,LateAircraftDelay\n",
          f);
    uint64_t s = seed;
    for (uint64_t i = 0; i < rows; i++)
        row(f, &s, year);
    int bad = ferror(f);
    fclose(f);
    int rc = 0;
    if (bad || !buf)
        rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for the flights");
    else if (file_write_atomic(out, buf, len, 0644) != 0)
        rc = cloister_errf(err, CLOISTER_E_SYSTEM, "cannot write %s: %s", out, strerror(errno));
    free(buf);
    return rc;
}
