/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Append-only incident journals in the state directory: one JSON object per
 * line, written with O_APPEND and made durable with fsync() before the
 * action they announce. A run killed at any point leaves at most one torn
 * last line, which the reader drops; anything else unreadable is an error,
 * never silently skipped.
 *
 * The exactly-once rule built on it (lib/hosterr.c): an "intent" record is
 * durable before a request is sent; a later run that finds an intent without
 * a result re-reads the object to learn whether the request took effect.
 */
#ifndef VMH_JOURNAL_H
#define VMH_JOURNAL_H

#include <jansson.h>

#include "error.h"

#define VMH_JOURNAL_LINE_MAX (4 * 1024 * 1024)

struct vmh_journal {
	int fd; /* -1 when closed */
	char path[512];
	int dirty; /* appended since the last sync */
};

/* Open dir/name.journal for appending (created 0600, O_NOFOLLOW). */
enum vmh_rc vmh_journal_open(const char *dir, const char *name,
			     struct vmh_journal *j, struct vmh_error *err);

/*
 * Append rec (a JSON object; "t", the wall clock in ms, is added) as one
 * line. sync: fsync now (say yes for records that must be durable before
 * what follows them happens). rec is not stolen.
 */
enum vmh_rc vmh_journal_append(struct vmh_journal *j, json_t *rec, int sync,
			       struct vmh_error *err);

/* fsync if anything was appended since the last sync. */
enum vmh_rc vmh_journal_sync(struct vmh_journal *j, struct vmh_error *err);

void vmh_journal_close(struct vmh_journal *j);

/*
 * Read every record of a journal file into a new JSON array (caller
 * decrefs). A missing file gives an empty array. A torn last line is
 * dropped (*torn set to 1 when torn is not NULL).
 */
enum vmh_rc vmh_journal_read(const char *path, json_t **records, int *torn,
			     struct vmh_error *err);

/* A record's string member, "" when absent or not a string. */
const char *vmh_journal_str(const json_t *rec, const char *key);

/* A record's integer member, dflt when absent or not an integer. */
long long vmh_journal_int(const json_t *rec, const char *key, long long dflt);

/* Move dir/name.journal aside to dir/name.SUFFIX.journal (rename is atomic,
 * the directory is fsynced). */
enum vmh_rc vmh_journal_archive(const char *dir, const char *name,
				const char *suffix, struct vmh_error *err);

#endif
