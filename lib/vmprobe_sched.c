/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vm_probe's pure building blocks: the timer heap that orders ten thousand
 * targets by their next event, the jittered schedule, the rise/fall state
 * machine and the scheduling-delay histogram. No I/O, so each is tested on
 * its own (tests/check_vmprobe.c).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "vmprobe.h"

/* ---- Min-heap of timers, keyed by when; each timer knows its index so
 * that moving or removing one is O(log n). */

static void
heap_place(struct vmh_vp_heap *h, size_t i, struct vmh_vp_hent e)
{
	h->v[i] = e;
	e.t->idx = i;
}

static void
sift_up(struct vmh_vp_heap *h, size_t i)
{
	struct vmh_vp_hent e = h->v[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (h->v[parent].when <= e.when)
			break;
		heap_place(h, i, h->v[parent]);
		i = parent;
	}
	heap_place(h, i, e);
}

static void
sift_down(struct vmh_vp_heap *h, size_t i)
{
	struct vmh_vp_hent e = h->v[i];

	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		long long best = e.when;

		if (l < h->n && h->v[l].when < best) {
			m = l;
			best = h->v[l].when;
		}
		if (r < h->n && h->v[r].when < best)
			m = r;
		if (m == i)
			break;
		heap_place(h, i, h->v[m]);
		i = m;
	}
	heap_place(h, i, e);
}

static int
queued(const struct vmh_vp_heap *h, const struct vmh_vp_timer *t)
{
	return t->idx != VMH_VP_NOT_QUEUED && t->idx < h->n &&
	       h->v[t->idx].t == t;
}

enum vmh_rc
vmh_vp_heap_set(struct vmh_vp_heap *h, struct vmh_vp_timer *t, long long when)
{
	struct vmh_vp_hent *tmp;
	long long old;

	if (queued(h, t)) {
		old = t->when;
		t->when = when;
		h->v[t->idx].when = when;
		if (when < old)
			sift_up(h, t->idx);
		else
			sift_down(h, t->idx);
		return VMH_OK;
	}
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;

		if ((tmp = realloc(h->v, cap * sizeof(*tmp))) == NULL)
			return VMH_E_NOMEM;
		h->v = tmp;
		h->cap = cap;
	}
	t->when = when;
	h->v[h->n].when = when;
	h->v[h->n].t = t;
	t->idx = h->n++;
	sift_up(h, h->n - 1);
	return VMH_OK;
}

void
vmh_vp_heap_remove(struct vmh_vp_heap *h, struct vmh_vp_timer *t)
{
	size_t i = t->idx;
	struct vmh_vp_hent last;

	if (!queued(h, t))
		return;
	t->idx = VMH_VP_NOT_QUEUED;
	last = h->v[--h->n];
	if (i == h->n)
		return;
	heap_place(h, i, last);
	/* The moved timer may belong above or below its new place. */
	if (i > 0 && h->v[(i - 1) / 2].when > last.when)
		sift_up(h, i);
	else
		sift_down(h, i);
}

struct vmh_vp_timer *
vmh_vp_heap_peek(const struct vmh_vp_heap *h)
{
	return h->n > 0 ? h->v[0].t : NULL;
}

void
vmh_vp_heap_free(struct vmh_vp_heap *h)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		h->v[i].t->idx = VMH_VP_NOT_QUEUED;
	free(h->v);
	memset(h, 0, sizeof(*h));
}

/* ---- Schedule */

unsigned long long
vmh_vp_rand(unsigned long long *s)
{
	unsigned long long x = *s ? *s : 0x9e3779b97f4a7c15ULL;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/* Uniform in [0, n) for n > 0 (the modulo bias is irrelevant here). */
static long long
rand_below(unsigned long long *rng, long long n)
{
	return n > 0 ? (long long)(vmh_vp_rand(rng) % (unsigned long long)n)
		     : 0;
}

long long
vmh_vp_next_due(long long due, long long period_us, int jitter_pct,
		long long now, unsigned long long *rng, unsigned long *skipped)
{
	long long j = period_us * jitter_pct / 100, next;

	next = due + period_us;
	if (j > 0)
		next += rand_below(rng, 2 * j + 1) - j;
	if (next < now) {
		/* Behind: count the rounds that did not happen, start now. */
		if (skipped != NULL && period_us > 0)
			*skipped += (unsigned long)((now - next) / period_us);
		next = now;
	}
	return next;
}

long long
vmh_vp_first_due(long long now, long long delay_us, long long period_us,
		 unsigned long long *rng)
{
	return now + delay_us + rand_below(rng, period_us);
}

/* ---- Rise and fall */

int
vmh_vp_fsm_feed(struct vmh_vp_fsm *f, int ok, int rise, int fall)
{
	enum vmh_vp_state before = f->state;

	if (ok) {
		f->ok_run++;
		f->fail_run = 0;
		if (f->state != VMH_VP_UP && f->ok_run >= rise)
			f->state = VMH_VP_UP;
	} else {
		f->fail_run++;
		f->ok_run = 0;
		if (f->state != VMH_VP_DOWN && f->fail_run >= fall)
			f->state = VMH_VP_DOWN;
	}
	/* Counters stop growing where they no longer matter. */
	if (f->ok_run > 1000000)
		f->ok_run = 1000000;
	if (f->fail_run > 1000000)
		f->fail_run = 1000000;
	return f->state != before;
}

void
vmh_vp_fsm_reset(struct vmh_vp_fsm *f)
{
	memset(f, 0, sizeof(*f));
	f->state = VMH_VP_UNKNOWN;
}

const char *
vmh_vp_state_name(enum vmh_vp_state s)
{
	switch (s) {
	case VMH_VP_UNKNOWN:
		return "unknown";
	case VMH_VP_UP:
		return "up";
	case VMH_VP_DOWN:
		return "down";
	}
	return "unknown";
}

/* ---- Histogram: values below 16 exact, then 8 buckets per power of 2. */

static int
log2_floor(unsigned long long v)
{
	int e = 0;

	while (v >>= 1)
		e++;
	return e;
}

static size_t
hist_index(long long v)
{
	int e;
	size_t idx;

	if (v < 16)
		return v < 0 ? 0 : (size_t)v;
	e = log2_floor((unsigned long long)v);
	idx = 16 + (size_t)(e - 4) * 8 + (size_t)((v >> (e - 3)) & 7);
	return idx < VMH_VP_HIST_BUCKETS ? idx : VMH_VP_HIST_BUCKETS - 1;
}

static long long
hist_upper(size_t idx)
{
	int e, sub;

	if (idx < 16)
		return (long long)idx;
	e = (int)((idx - 16) / 8) + 4;
	sub = (int)((idx - 16) % 8);
	return ((long long)(8 + sub) << (e - 3)) + (1LL << (e - 3)) - 1;
}

void
vmh_vp_hist_add(struct vmh_vp_hist *h, long long v)
{
	if (v < 0)
		v = 0;
	h->b[hist_index(v)]++;
	h->count++;
	h->sum += (long double)v;
	if (v > h->max)
		h->max = v;
}

long long
vmh_vp_hist_quantile(const struct vmh_vp_hist *h, double q)
{
	unsigned long long rank, seen = 0;
	size_t i;

	if (h->count == 0)
		return 0;
	if (q <= 0)
		q = 0;
	if (q >= 1)
		return h->max;
	rank = (unsigned long long)(q * (double)h->count);
	if ((double)rank < q * (double)h->count || rank == 0)
		rank++;
	for (i = 0; i < VMH_VP_HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= rank) {
			/* The last bucket also holds everything larger. */
			long long u = i == VMH_VP_HIST_BUCKETS - 1
					  ? h->max
					  : hist_upper(i);

			return u < h->max ? u : h->max;
		}
	}
	return h->max;
}
