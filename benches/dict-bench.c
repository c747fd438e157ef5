/* One driver's run of the dict benchmark, through Dovecot's own dict API
   (as the acl plugin calls it). benches/dict.rs builds and runs it once per
   driver and prints the table.

   Usage: dict-bench MODULE_DIR URI USERS BATCH ITERATIONS WRITERS COMMITS_EACH
   Prints "RESULT <name> <value>" lines. */
#include "lib.h"
#include "ioloop.h"
#include "module-dir.h"
#include "dict-private.h"

#include <stdio.h>
#include <unistd.h>
#include <sys/wait.h>
#include <time.h>

#define SHARES_PER_USER 10

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct dict *open_dict(const char *uri)
{
	struct dict_settings set = { .base_dir = "/tmp" };
	struct dict *dict;
	const char *error;

	if (dict_init(uri, &set, &dict, &error) < 0)
		i_fatal("dict_init(%s): %s", uri, error);
	return dict;
}

static void set_one(struct dict *dict, const char *key)
{
	struct dict_op_settings op = { .username = "bench" };
	struct dict_transaction_context *trans;
	const char *error;

	trans = dict_transaction_begin(dict, &op);
	dict_set(trans, key, "1");
	if (dict_transaction_commit(&trans, &error) < 0)
		i_fatal("commit %s: %s", key, error);
}

/* USERS x 10 shares, BATCH changes per transaction (1: as the acl
   plugin's rebuild commits). */
static void populate(struct dict *dict, unsigned int users, unsigned int batch)
{
	struct dict_op_settings op = { .username = "bench" };
	unsigned int total = users * SHARES_PER_USER, commits = 0;
	double start = now();

	for (unsigned int n = 0; n < total; n += batch) T_BEGIN {
		struct dict_transaction_context *trans;
		const char *error;

		trans = dict_transaction_begin(dict, &op);
		for (unsigned int i = n; i < n + batch && i < total; i++) {
			dict_set(trans, t_strdup_printf(
				"shared/shared-boxes/user/u%u/owner%u",
				i / SHARES_PER_USER, i % SHARES_PER_USER), "1");
		}
		if (dict_transaction_commit(&trans, &error) < 0)
			i_fatal("commit: %s", error);
		commits++;
	} T_END;
	printf("RESULT populate_seconds %.3f\n", now() - start);
	printf("RESULT populate_commits %u\n", commits);
}

/* The LIST "shared/" lookup: the owners visible to one user. */
static void iterate(struct dict *dict, unsigned int users,
		    unsigned int iterations)
{
	struct dict_op_settings op = { .username = "bench" };
	double start = now();
	unsigned int rows = 0, done = 0;

	/* At most ITERATIONS lookups, and no more than 20 s of them: some
	   drivers take seconds per iteration. */
	for (unsigned int i = 0; i < iterations && (i == 0 || now() - start < 20);
	     i++, done++) T_BEGIN {
		struct dict_iterate_context *iter;
		const char *key, *value, *error;

		/* fs:posix aborts on DICT_ITERATE_FLAG_RECURSE (its iterator
		   asserts it is not set): one level is the same rows here. */
		iter = dict_iterate_init(dict, &op, t_strdup_printf(
			"shared/shared-boxes/user/u%u/", (i * 7919) % users), 0);
		while (dict_iterate(iter, &key, &value))
			rows++;
		if (dict_iterate_deinit(&iter, &error) < 0)
			i_fatal("iterate: %s", error);
	} T_END;
	printf("RESULT iterate_ms_each %.4f\n", (now() - start) * 1000 / done);
	printf("RESULT iterate_done %u\n", done);
	printf("RESULT iterate_rows %u\n", rows);
}

/* WRITERS processes committing at once, each its own keys. */
static void concurrent(const char *uri, unsigned int writers,
		       unsigned int each)
{
	double start = now();
	unsigned int found = 0;

	for (unsigned int w = 0; w < writers; w++) {
		pid_t pid = fork();
		if (pid < 0)
			i_fatal("fork: %m");
		if (pid == 0) {
			struct dict *dict = open_dict(uri);
			for (unsigned int i = 0; i < each; i++) T_BEGIN {
				set_one(dict, t_strdup_printf(
					"shared/concurrent/w%u/k%u", w, i));
			} T_END;
			dict_deinit(&dict);
			_exit(0);
		}
	}
	for (unsigned int w = 0; w < writers; w++) {
		int status;
		if (wait(&status) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			i_fatal("a writer failed");
	}
	double elapsed = now() - start;

	struct dict *dict = open_dict(uri);
	struct dict_op_settings op = { .username = "bench" };
	for (unsigned int w = 0; w < writers; w++) T_BEGIN {
		struct dict_iterate_context *iter;
		const char *key, *value, *error;

		iter = dict_iterate_init(dict, &op, t_strdup_printf(
			"shared/concurrent/w%u/", w), 0);
		while (dict_iterate(iter, &key, &value))
			found++;
		if (dict_iterate_deinit(&iter, &error) < 0)
			i_fatal("iterate: %s", error);
	} T_END;
	dict_deinit(&dict);
	printf("RESULT concurrent_commits_per_second %.1f\n",
	       writers * each / elapsed);
	printf("RESULT concurrent_lost %u\n", writers * each - found);
}

int main(int argc, char **argv)
{
	struct module_dir_load_settings mod_set = {
		.abi_version = DOVECOT_ABI_VERSION,
		.require_init_funcs = TRUE,
	};
	struct module *modules;
	struct ioloop *ioloop;
	struct dict *dict;

	if (argc != 8)
		i_fatal("Usage: dict-bench MODULE_DIR URI USERS BATCH ITERATIONS "
			"WRITERS COMMITS_EACH");
	lib_init();
	ioloop = io_loop_create();
	dict_drivers_register_builtin();
	modules = module_dir_load(argv[1], "shared_imapc", &mod_set);
	module_dir_init(modules);

	unsigned int users = atoi(argv[3]);
	dict = open_dict(argv[2]);
	populate(dict, users, atoi(argv[4]));
	if (atoi(argv[5]) > 0)
		iterate(dict, users, atoi(argv[5]));
	dict_deinit(&dict);
	if (atoi(argv[6]) > 0)
		concurrent(argv[2], atoi(argv[6]), atoi(argv[7]));
	fflush(stdout);

	module_dir_unload(&modules);
	io_loop_destroy(&ioloop);
	lib_deinit();
	return 0;
}
