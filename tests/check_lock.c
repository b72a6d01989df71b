/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Lock files: contention between processes, release on death, safety. */
#include "config.h"

#include <signal.h>
#include <sys/wait.h>

#include "lock.h"
#include "str.h"
#include "testutil.h"

static char *dir;

static void
setup(void)
{
	dir = tu_mkdtemp();
}

static void
teardown(void)
{
	tu_rmdir(dir);
}

/* Fork a child that takes the lock and sleeps; returns its pid once it
 * holds the lock. */
static pid_t
child_holding(const char *name)
{
	int p[2];
	char c;
	pid_t pid;

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct vmh_lock l;

		close(p[0]);
		if (vmh_lock_acquire(dir, name, 1, 0, &l, NULL) != VMH_OK)
			_exit(1);
		(void)!write(p[1], "x", 1);
		pause();
		_exit(0);
	}
	close(p[1]);
	ck_assert_int_eq(read(p[0], &c, 1), 1);
	close(p[0]);
	return pid;
}

START_TEST(second_holder_is_refused_with_pid)
{
	struct vmh_lock l;
	struct vmh_error err;
	pid_t pid = child_holding("host-5");
	char want[64];

	vmh_error_init(&err);
	ck_assert_int_eq(vmh_lock_acquire(dir, "host-5", 1, 0, &l, &err),
			 VMH_E_BUSY);
	snprintf(want, sizeof(want), "(pid %ld)", (long)pid);
	ck_assert_ptr_nonnull(strstr(err.text, want));
	/* Another name is independent. */
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_lock_acquire(dir, "host-6", 1, 0, &l, &err),
			 VMH_OK);
	vmh_lock_release(&l);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}
END_TEST

START_TEST(lock_dies_with_its_holder)
{
	struct vmh_lock l;
	pid_t pid = child_holding("host-7");

	kill(pid, SIGKILL); /* a hook killed half-way */
	waitpid(pid, NULL, 0);
	ck_assert_int_eq(vmh_lock_acquire(dir, "host-7", 1, 0, &l, NULL),
			 VMH_OK);
	vmh_lock_release(&l);
	vmh_lock_release(&l); /* twice is harmless */
}
END_TEST

START_TEST(waiting_with_timeout)
{
	struct vmh_lock l;
	pid_t pid = child_holding("vm-1");
	long long t0 = vmh_now_ms();

	ck_assert_int_eq(vmh_lock_acquire(dir, "vm-1", 0, 300, &l, NULL),
			 VMH_E_BUSY);
	ck_assert_int_ge(vmh_now_ms() - t0, 290);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	ck_assert_int_eq(vmh_lock_acquire(dir, "vm-1", 0, 2000, &l, NULL),
			 VMH_OK);
	vmh_lock_release(&l);
}
END_TEST

START_TEST(symlinked_lock_is_refused)
{
	struct vmh_lock l;
	struct vmh_error err;
	char *target = tu_write(dir, "target", "", 0600), *link;

	ck_assert(asprintf(&link, "%s/evil.lock", dir) > 0);
	ck_assert_int_eq(symlink(target, link), 0);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_lock_acquire(dir, "evil", 1, 0, &l, &err),
			 VMH_E_SYSTEM);
	ck_assert_int_eq(vmh_lock_acquire(dir, "a/b", 1, 0, &l, NULL),
			 VMH_E_INTERNAL);
	free(target);
	free(link);
}
END_TEST

START_TEST(state_dir_checks)
{
	struct vmh_error err;
	char *sub, *open_dir;

	ck_assert(asprintf(&sub, "%s/a/b/c", dir) > 0);
	vmh_error_init(&err);
	ck_assert_int_eq(vmh_state_dir_ensure(sub, &err), VMH_OK);
	ck_assert(asprintf(&open_dir, "%s/open", dir) > 0);
	ck_assert_int_eq(mkdir(open_dir, 0777), 0);
	ck_assert_int_eq(chmod(open_dir, 0777), 0);
	ck_assert_int_eq(vmh_state_dir_ensure(open_dir, &err), VMH_E_CONFIG);
	ck_assert_ptr_nonnull(strstr(err.text, "writable by group or others"));
	free(sub);
	free(open_dir);
}
END_TEST

START_TEST(shared_holders_exclude_the_exclusive_one)
{
	struct vmh_lock a, b, x;
	struct vmh_error err;
	pid_t pid;

	/* OFD locks conflict between open file descriptions even within one
	 * process, so two shared holders can be taken here. */
	ck_assert_int_eq(
	    vmh_lock_acquire_mode(dir, "host-1.vms", 1, 1, 0, &a, NULL),
	    VMH_OK);
	ck_assert_int_eq(
	    vmh_lock_acquire_mode(dir, "host-1.vms", 1, 1, 0, &b, NULL),
	    VMH_OK);
	vmh_error_init(&err);
	ck_assert_int_eq(
	    vmh_lock_acquire_mode(dir, "host-1.vms", 0, 1, 0, &x, &err),
	    VMH_E_BUSY);
	vmh_lock_release(&a);
	ck_assert_int_eq(
	    vmh_lock_acquire_mode(dir, "host-1.vms", 0, 0, 200, &x, NULL),
	    VMH_E_BUSY);
	vmh_lock_release(&b);
	ck_assert_int_eq(
	    vmh_lock_acquire_mode(dir, "host-1.vms", 0, 1, 0, &x, NULL),
	    VMH_OK);
	/* Held exclusively: a shared taker in another process is refused. */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(vmh_lock_acquire_mode(dir, "host-1.vms", 1, 1, 0, &a,
					    NULL) == VMH_E_BUSY
			  ? 0
			  : 1);
	ck_assert_int_eq(waitpid(pid, &pid, 0) > 0 && WIFEXITED(pid) &&
			     WEXITSTATUS(pid) == 0,
			 1);
	vmh_lock_release(&x);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("lock");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, second_holder_is_refused_with_pid);
	tcase_add_test(tc, lock_dies_with_its_holder);
	tcase_add_test(tc, waiting_with_timeout);
	tcase_add_test(tc, symlinked_lock_is_refused);
	tcase_add_test(tc, state_dir_checks);
	tcase_add_test(tc, shared_holders_exclude_the_exclusive_one);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
