/* C harness: drives the Rust core through include/shared_imapc.h, and loads
   the built module with Dovecot's own module loader, using Dovecot's test
   framework (test-common.h, exported by libdovecot).

   Usage: test-shared-imapc MODULE_DIR PROXY_PORT MASTER_PASSWORD DICT_DIR
   MODULE_DIR holds lib30_shared_imapc_plugin.so; the proxy on 127.0.0.1
   PROXY_PORT fronts a cluster where alice has a folder "Team" of 5 messages
   and any user is a master user with MASTER_PASSWORD; DICT_DIR is an empty
   directory for a shared_dict store. */
#include "lib.h"
#include "module-dir.h"
#include "mail-storage.h"
#include "ioloop.h"
#include "dict.h"
#include "test-common.h"
#include "shared_imapc.h"

static const char *module_dir, *proxy_port, *master_password, *dict_dir;

static void test_settings_groups(void)
{
	const char *keys[] = {
		"shared_imapc_host", "shared_imapc_password",
		"shared_imapc_namespace2", "shared_imapc_host2",
	};
	const char *values[] = { "proxy-a", "c-secret", "partner/*", "proxy-b" };
	char *error = NULL, *description;
	struct sic_settings *set;

	test_begin("settings: groups by namespace prefix");
	set = sic_settings_parse(keys, values, N_ELEMENTS(keys), &error);
	test_assert(set != NULL);
	test_assert(error == NULL);
	test_assert(sic_settings_group_for(set, "partner/alice/") == 2);
	test_assert(sic_settings_group_for(set, "shared/alice/") == 0);
	description = sic_settings_describe(set);
	test_assert(description != NULL &&
		    strstr(description, "host=proxy-a") != NULL &&
		    strstr(description, "host=proxy-b") != NULL &&
		    strstr(description, "c-secret") == NULL);
	sic_string_free(description);
	sic_settings_free(set);
	test_end();
}

static void test_settings_error_names_key(void)
{
	const char *keys[] = { "shared_imapc_port" };
	const char *values[] = { "not-a-port" };
	char *error = NULL;

	test_begin("settings: error names the key and value");
	test_assert(sic_settings_parse(keys, values, 1, &error) == NULL);
	test_assert(error != NULL &&
		    str_begins(error, "shared_imapc_port=not-a-port: "));
	sic_string_free(error);
	test_end();
}

static void test_settings_null_safety(void)
{
	char *error = NULL;
	struct sic_settings *set;

	test_begin("settings: NULL and empty input");
	set = sic_settings_parse(NULL, NULL, 0, &error);
	test_assert(set != NULL && error == NULL);
	test_assert(sic_settings_group_for(set, NULL) == 0);
	test_assert(sic_settings_group_for(NULL, "shared/") == 0);
	test_assert(sic_settings_describe(NULL) == NULL);
	sic_settings_free(set);
	sic_settings_free(NULL);
	sic_string_free(NULL);
	test_end();
}

static void test_module_loads_with_dovecot_loader(void)
{
	struct module_dir_load_settings set = {
		.abi_version = DOVECOT_ABI_VERSION,
		.require_init_funcs = TRUE,
	};
	struct module *modules;

	test_begin("module: Dovecot's loader accepts version and entry points");
	test_assert(strcmp(shared_imapc_plugin_version, DOVECOT_ABI_VERSION) == 0);
	/* as a mail process does */
	mail_storage_init();
	modules = module_dir_load(module_dir, "shared_imapc", &set);
	test_assert(modules != NULL && modules->next == NULL);
	test_assert(modules != NULL &&
		    strcmp(module_get_plugin_name(modules), "shared_imapc") == 0);
	module_dir_init(modules);
	module_dir_unload(&modules);
	test_assert(modules == NULL);
	mail_storage_deinit();
	test_end();
}

static void commit_async_callback(const struct dict_commit_result *result,
				  int *ret_r)
{
	*ret_r = result->ret;
}

/* The acl plugin's calls: recursive iteration of shared-boxes, sync
   commits; plus lookup, priv/ keys, atomic_inc, rollback, async commit.
   Like Dovecot's dict server, this process has no mail storage set up. */
static void test_dict_through_dovecot_api(void)
{
	struct module_dir_load_settings mod_set = {
		.abi_version = DOVECOT_ABI_VERSION,
		.require_init_funcs = TRUE,
	};
	struct dict_settings set = { .base_dir = "/tmp" };
	struct dict_op_settings bob = { .username = "bob" };
	struct dict_op_settings alice = { .username = "alice" };
	struct module *modules;
	struct ioloop *ioloop;
	struct dict *dict;
	struct dict_transaction_context *trans;
	struct dict_iterate_context *iter;
	const char *error, *key, *value;
	unsigned int count = 0;
	int async_ret = -100;

	test_begin("shared_dict: Dovecot's dict API, in a process without storage");
	ioloop = io_loop_create();
	modules = module_dir_load(module_dir, "shared_imapc", &mod_set);
	module_dir_init(modules);

	test_assert(dict_init(t_strconcat("shared_dict:", dict_dir, NULL),
			      &set, &dict, &error) == 0);
	trans = dict_transaction_begin(dict, &bob);
	dict_set(trans, "shared/shared-boxes/user/bob/alice", "1");
	dict_set(trans, "shared/shared-boxes/user/bob/carol", "1");
	dict_set(trans, "shared/shared-boxes/anyone/dave", "1");
	dict_set(trans, "shared/counter", "5");
	dict_set(trans, "priv/seen", "bob's");
	test_assert(dict_transaction_commit(&trans, &error) == DICT_COMMIT_RET_OK);

	iter = dict_iterate_init(dict, &bob, "shared/shared-boxes/",
				 DICT_ITERATE_FLAG_RECURSE);
	while (dict_iterate(iter, &key, &value)) {
		test_assert(str_begins(key, "shared/shared-boxes/") &&
			    strcmp(value, "1") == 0);
		count++;
	}
	test_assert(dict_iterate_deinit(&iter, &error) == 0);
	test_assert(count == 3);

	test_assert(dict_lookup(dict, &bob, pool_datastack_create(),
				"priv/seen", &value, &error) == 1 &&
		    strcmp(value, "bob's") == 0);
	test_assert(dict_lookup(dict, &alice, pool_datastack_create(),
				"priv/seen", &value, &error) == 0);

	trans = dict_transaction_begin(dict, &bob);
	dict_atomic_inc(trans, "shared/counter", 2);
	test_assert(dict_transaction_commit(&trans, &error) == DICT_COMMIT_RET_OK);
	test_assert(dict_lookup(dict, &bob, pool_datastack_create(),
				"shared/counter", &value, &error) == 1 &&
		    strcmp(value, "7") == 0);
	trans = dict_transaction_begin(dict, &bob);
	dict_atomic_inc(trans, "shared/no-such-counter", 1);
	test_assert(dict_transaction_commit(&trans, &error) ==
		    DICT_COMMIT_RET_NOTFOUND);

	trans = dict_transaction_begin(dict, &bob);
	dict_set(trans, "shared/rolled-back", "1");
	dict_transaction_rollback(&trans);
	test_assert(dict_lookup(dict, &bob, pool_datastack_create(),
				"shared/rolled-back", &value, &error) == 0);

	trans = dict_transaction_begin(dict, &bob);
	dict_unset(trans, "shared/shared-boxes/user/bob/carol");
	dict_transaction_commit_async(&trans, commit_async_callback, &async_ret);
	dict_wait(dict);
	test_assert(async_ret == DICT_COMMIT_RET_OK);
	test_assert(dict_lookup(dict, &bob, pool_datastack_create(),
				"shared/shared-boxes/user/bob/carol",
				&value, &error) == 0);
	dict_deinit(&dict);

	test_assert(dict_init("shared_dict:relative/path", &set, &dict,
			      &error) < 0 &&
		    strstr(error, "absolute directory") != NULL);

	module_dir_unload(&modules);
	io_loop_destroy(&ioloop);
	test_end();
}

static struct sic_settings *proxy_settings(const char *master_user)
{
	const char *keys[] = {
		"shared_imapc_host", "shared_imapc_port",
		"shared_imapc_master_user", "shared_imapc_password",
	};
	const char *values[] = {
		"127.0.0.1", proxy_port, master_user, master_password
	};
	char *error = NULL;
	struct sic_settings *set;

	set = sic_settings_parse(keys, values, N_ELEMENTS(keys), &error);
	test_assert(set != NULL);
	sic_string_free(error);
	return set;
}

static void test_folder_opens_through_the_proxy(void)
{
	struct sic_settings *set;
	struct sic_account *account;
	struct sic_owner *owner;
	struct sic_folder *folder;
	struct sic_folder_list *list;
	struct sic_folder_state state;
	struct sic_error error;
	unsigned int flags;

	test_begin("storage core: master login through the proxy, LIST, EXAMINE");
	set = proxy_settings("bob");
	account = sic_account_new(set, NULL, NULL, NULL);
	memset(&error, 0, sizeof(error));
	owner = sic_owner_new(account, "shared/alice/", "alice", &error);
	test_assert(owner != NULL);
	list = sic_owner_list(owner, &error);
	test_assert(list != NULL && sic_folder_list_count(list) == 2);
	/* Sorted; no ACLs on this cluster's backends: INBOX shows too. */
	test_assert(list != NULL &&
		    strcmp(sic_folder_list_get(list, 0, &flags), "INBOX") == 0 &&
		    strcmp(sic_folder_list_get(list, 1, &flags), "Team") == 0 &&
		    (flags & SIC_LIST_NOCHILDREN) != 0);
	sic_folder_list_free(list);
	folder = sic_folder_open(owner, "Team", 1, 0, 0, &state, &error);
	test_assert(folder != NULL && state.exists == 5 &&
		    state.uidvalidity != 0 && state.uidnext == 6);
	test_assert(sic_account_connections(account) == 1);
	test_assert(sic_folder_open(owner, "No Such Folder", 1, 0, 0, &state,
				    &error) == NULL);
	test_assert(error.kind == SIC_ERR_NOTFOUND && error.message != NULL);
	sic_error_clear(&error);
	test_assert(error.message == NULL);
	sic_folder_free(folder);
	sic_owner_free(owner);
	sic_account_free(account);
	sic_settings_free(set);
	test_end();
}

static void test_owner_never_logs_in_as_herself(void)
{
	struct sic_settings *set;
	struct sic_account *account;
	struct sic_error error;

	test_begin("storage core: never alice as master user of alice");
	set = proxy_settings("alice");
	account = sic_account_new(set, NULL, NULL, NULL);
	memset(&error, 0, sizeof(error));
	test_assert(sic_owner_new(account, "shared/alice/", "alice", &error) == NULL);
	test_assert(error.kind == SIC_ERR_NOTFOUND);
	sic_error_clear(&error);
	test_assert(sic_account_connections(account) == 0);
	sic_account_free(account);
	sic_settings_free(set);
	test_end();
}

int main(int argc, char **argv)
{
	static void (*const tests[])(void) = {
		test_settings_groups,
		test_settings_error_names_key,
		test_settings_null_safety,
		test_module_loads_with_dovecot_loader,
		test_folder_opens_through_the_proxy,
		test_owner_never_logs_in_as_herself,
		test_dict_through_dovecot_api,
		NULL
	};

	if (argc != 5)
		i_fatal("Usage: %s MODULE_DIR PROXY_PORT MASTER_PASSWORD DICT_DIR",
			argv[0]);
	module_dir = argv[1];
	proxy_port = argv[2];
	master_password = argv[3];
	dict_dir = argv[4];
	return test_run(tests);
}
