/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Append-only, fsynced JSON-lines journals. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "journal.h"
#include "str.h"

static long long
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * A run killed inside write() can leave a last line without its newline.
 * That record announced nothing (its fsync never returned), so cut it off
 * before appending: otherwise the next record would be glued to it.
 */
static enum vmh_rc
drop_torn_tail(struct vmh_journal *j, struct vmh_error *err)
{
	char chunk[4096];
	struct stat st;
	off_t end, pos;
	ssize_t n, i;

	if (fstat(j->fd, &st) < 0)
		return vmh_error_errno(err, errno, j->path, "journal");
	end = st.st_size;
	if (end == 0)
		return VMH_OK;
	if (pread(j->fd, chunk, 1, end - 1) != 1)
		return vmh_error_errno(err, errno, j->path, "journal");
	if (chunk[0] == '\n')
		return VMH_OK;
	for (pos = end; pos > 0;) {
		off_t from =
		    pos > (off_t)sizeof(chunk) ? pos - (off_t)sizeof(chunk) : 0;

		n = pread(j->fd, chunk, (size_t)(pos - from), from);
		if (n <= 0)
			return vmh_error_errno(err, errno, j->path, "journal");
		for (i = n - 1; i >= 0; i--)
			if (chunk[i] == '\n')
				goto found;
		pos = from;
		continue;
	found:
		pos = from + i + 1;
		break;
	}
	if (ftruncate(j->fd, pos) < 0 || fdatasync(j->fd) < 0)
		return vmh_error_errno(err, errno, j->path,
				       "cannot repair journal");
	return VMH_OK;
}

enum vmh_rc
vmh_journal_open(const char *dir, const char *name, struct vmh_journal *j,
		 struct vmh_error *err)
{
	enum vmh_rc rc;
	int n;

	j->fd = -1;
	j->dirty = 0;
	n = snprintf(j->path, sizeof(j->path), "%s/%s.journal", dir, name);
	if (n < 0 || (size_t)n >= sizeof(j->path) || strchr(name, '/'))
		return vmh_error_set(err, VMH_E_INTERNAL, dir, 0,
				     "bad journal name '%s'", name);
	j->fd =
	    open(j->path, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
		 0600);
	if (j->fd < 0)
		return vmh_error_errno(err, errno, j->path,
				       "cannot open journal");
	if ((rc = drop_torn_tail(j, err)) != VMH_OK) {
		close(j->fd);
		j->fd = -1;
	}
	return rc;
}

enum vmh_rc
vmh_journal_append(struct vmh_journal *j, json_t *rec, int sync,
		   struct vmh_error *err)
{
	char *line = NULL;
	size_t len, off = 0;
	enum vmh_rc rc = VMH_OK;

	if (json_object_set_new(rec, "t", json_integer(wall_ms())) != 0)
		return vmh_error_set(err, VMH_E_NOMEM, j->path, 0,
				     "out of memory");
	line = json_dumps(rec, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (line == NULL)
		return vmh_error_set(err, VMH_E_NOMEM, j->path, 0,
				     "cannot encode journal record");
	len = strlen(line);
	line[len++] = '\n'; /* replaces the NUL: written by length */
	/* One write() per record: with O_APPEND, records of concurrent
	 * writers never interleave within a line. */
	while (off < len) {
		ssize_t w = write(j->fd, line + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			rc = vmh_error_errno(err, errno, j->path,
					     "cannot write journal");
			goto done;
		}
		off += (size_t)w;
	}
	j->dirty = 1;
	if (sync)
		rc = vmh_journal_sync(j, err);
done:
	free(line);
	return rc;
}

enum vmh_rc
vmh_journal_sync(struct vmh_journal *j, struct vmh_error *err)
{
	if (!j->dirty)
		return VMH_OK;
	if (fdatasync(j->fd) < 0)
		return vmh_error_errno(err, errno, j->path,
				       "cannot sync journal");
	j->dirty = 0;
	return VMH_OK;
}

void
vmh_journal_close(struct vmh_journal *j)
{
	if (j->fd < 0)
		return;
	if (j->dirty)
		fdatasync(j->fd);
	close(j->fd);
	j->fd = -1;
}

enum vmh_rc
vmh_journal_read(const char *path, json_t **records, int *torn,
		 struct vmh_error *err)
{
	struct vmh_buf b;
	char chunk[65536], *p, *nl;
	json_t *arr = json_array();
	enum vmh_rc rc = VMH_OK;
	int fd = -1, lineno = 0;
	ssize_t n;

	*records = NULL;
	if (torn != NULL)
		*torn = 0;
	vmh_buf_init(&b, (size_t)256 * 1024 * 1024);
	if (arr == NULL)
		return vmh_error_set(err, VMH_E_NOMEM, path, 0,
				     "out of memory");
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		goto out;
	if (fd < 0) {
		rc = vmh_error_errno(err, errno, path, "cannot read journal");
		goto done;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = vmh_error_errno(err, errno, path,
					     "cannot read journal");
			goto done;
		}
		if ((rc = vmh_buf_append(&b, chunk, (size_t)n)) != VMH_OK) {
			rc = vmh_error_set(err, rc, path, 0,
					   "journal too large");
			goto done;
		}
	}
	for (p = b.data; p != NULL && *p != '\0'; p = nl + 1) {
		json_error_t jerr;
		json_t *rec;

		lineno++;
		nl = strchr(p, '\n');
		if (nl == NULL) {
			/* No newline: the write of the last record was
			 * interrupted. It announced nothing that happened. */
			if (torn != NULL)
				*torn = 1;
			break;
		}
		rec = json_loadb(p, (size_t)(nl - p), 0, &jerr);
		if (rec == NULL || !json_is_object(rec)) {
			json_decref(rec);
			if (nl[1] == '\0') {
				/* A torn last line that ends in garbage from
				 * a crash of the file system. */
				if (torn != NULL)
					*torn = 1;
				break;
			}
			rc = vmh_error_set(err, VMH_E_DATA, path, lineno,
					   "corrupt journal record: %s",
					   rec ? "not an object" : jerr.text);
			goto done;
		}
		json_array_append_new(arr, rec);
	}
out:
	*records = arr;
	arr = NULL;
done:
	if (fd >= 0)
		close(fd);
	json_decref(arr);
	vmh_buf_free(&b);
	return rc;
}

const char *
vmh_journal_str(const json_t *rec, const char *key)
{
	const char *s = json_string_value(json_object_get(rec, key));

	return s != NULL ? s : "";
}

long long
vmh_journal_int(const json_t *rec, const char *key, long long dflt)
{
	json_t *v = json_object_get(rec, key);

	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

enum vmh_rc
vmh_journal_archive(const char *dir, const char *name, const char *suffix,
		    struct vmh_error *err)
{
	char from[512], to[600];
	int dfd;

	snprintf(from, sizeof(from), "%s/%s.journal", dir, name);
	snprintf(to, sizeof(to), "%s/%s.%s.journal", dir, name, suffix);
	if (rename(from, to) < 0)
		return vmh_error_errno(err, errno, from,
				       "cannot archive journal");
	/* Make the rename itself durable. */
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return VMH_OK;
}
