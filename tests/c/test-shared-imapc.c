/* C harness: drives the Rust core through include/shared_imapc.h, and loads
   the built module with Dovecot's own module loader, using Dovecot's test
   framework (test-common.h, exported by libdovecot).

   Usage: test-shared-imapc MODULE_DIR PROXY_PORT MASTER_PASSWORD
   MODULE_DIR holds lib30_shared_imapc_plugin.so; the proxy on 127.0.0.1
   PROXY_PORT fronts a cluster where alice has a folder "Team" of 5 messages
   and any user is a master user with MASTER_PASSWORD. */
#include "lib.h"
#include "module-dir.h"
#include "mail-storage-hooks.h"
#include "test-common.h"
#include "shared_imapc.h"

static const char *module_dir, *proxy_port, *master_password;

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
	mail_storage_hooks_init();
	modules = module_dir_load(module_dir, "shared_imapc", &set);
	test_assert(modules != NULL && modules->next == NULL);
	test_assert(modules != NULL &&
		    strcmp(module_get_plugin_name(modules), "shared_imapc") == 0);
	module_dir_init(modules);
	module_dir_unload(&modules);
	test_assert(modules == NULL);
	mail_storage_hooks_deinit();
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

static void test_session_selects_owner_folder(void)
{
	struct sic_settings *set;
	struct sic_session *session;
	struct sic_mailbox_state state;
	char *error = NULL;

	test_begin("session: master login through the proxy, SELECT");
	set = proxy_settings("bob");
	session = sic_session_open(set, "shared/alice/", "alice", &error);
	test_assert(session != NULL && error == NULL);
	test_assert(sic_session_select(session, "Team", 1, &state, &error) == 0);
	test_assert(state.exists == 5 && state.uidvalidity != 0 &&
		    state.uidnext == 6 && state.read_only == 1);
	test_assert(sic_session_select(session, "No Such Folder", 1,
				       &state, &error) == -1);
	test_assert(error != NULL && strstr(error, "EXAMINE failed") != NULL);
	sic_string_free(error);
	sic_session_free(session);
	sic_settings_free(set);
	test_end();
}

static void test_session_refuses_self_master(void)
{
	struct sic_settings *set;
	char *error = NULL;

	test_begin("session: never alice as master user of alice");
	set = proxy_settings("alice");
	test_assert(sic_session_open(set, "shared/alice/", "alice", &error) == NULL);
	test_assert(error != NULL &&
		    strstr(error, "refusing to log in as alice") != NULL);
	sic_string_free(error);
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
		test_session_selects_owner_folder,
		test_session_refuses_self_master,
		NULL
	};

	if (argc != 4)
		i_fatal("Usage: %s MODULE_DIR PROXY_PORT MASTER_PASSWORD", argv[0]);
	module_dir = argv[1];
	proxy_port = argv[2];
	master_password = argv[3];
	return test_run(tests);
}
