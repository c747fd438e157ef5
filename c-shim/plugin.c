/* Plugin glue: Dovecot's mail storage hooks, and the per-user settings kept
   in the user's module context. */
#include "shim.h"
#include "array.h"
#include "ioloop.h"
#include "str.h"
#include "mail-storage-settings.h"
#include "mail-namespace.h"
#include "mail-storage.h"
#include "mail-storage-hooks.h"
#include "module-context.h"
#include "storage.h"

#define SIC_SETTING_PREFIX "shared_imapc_"
#define SIC_USER_CONTEXT(obj) MODULE_CONTEXT(obj, sic_user_module)

struct sic_user {
	union mail_user_module_context module_ctx;
	struct sic_settings *set;
	struct sic_account *account;
	struct timeout *to_close_unused;
};

static MODULE_CONTEXT_DEFINE_INIT(sic_user_module, &mail_user_module_register);

static void sic_user_deinit(struct mail_user *user)
{
	struct sic_user *suser = SIC_USER_CONTEXT(user);

	suser->module_ctx.super.deinit(user);
	timeout_remove(&suser->to_close_unused);
	sic_account_free(suser->account);
	sic_settings_free(suser->set);
}

static void sic_user_close_unused(struct sic_user *suser)
{
	sic_account_close_unused(suser->account);
}

/* Remote sessions left unused (say after a LIST of many owners) are
   logged out while the user idles, not kept until the session ends. Only
   the logged-in user has them: not the owner objects of shared
   namespaces. */
static void sic_user_watch_unused(struct mail_user *user, struct sic_user *suser)
{
	if (user->creator != NULL || current_ioloop == NULL)
		return;
	suser->to_close_unused = timeout_add(
		sic_account_unused_check_msecs(suser->account),
		sic_user_close_unused, suser);
}

struct sic_account *sic_user_account(struct mail_user *user)
{
	struct sic_user *suser = SIC_USER_CONTEXT(user);

	return suser == NULL ? NULL : suser->account;
}

/* The namespace prefix template as a wildcard: each %u or %{...} becomes
   a "*", so "shared/%u/" matches every owner's prefix. */
static const char *sic_prefix_wildcard(const char *prefix)
{
	string_t *str = t_str_new(64);

	for (; *prefix != '\0'; prefix++) {
		if (*prefix != '%') {
			str_append_c(str, *prefix);
			continue;
		}
		/* %u, %{user} ... */
		if (prefix[1] == '{') {
			const char *end = strchr(prefix, '}');
			prefix = end != NULL ? end : prefix + strlen(prefix) - 1;
		} else if (prefix[1] != '\0') {
			prefix++;
		}
		str_append_c(str, '*');
	}
	return str_c(str);
}

/* The owner's server checks the user's rights on shared_imapc folders;
   local ACLs (none exist for them here) would hide everything. Exempt the
   namespaces from the acl plugin as acl_ignore_namespace would, so the
   administrator need not configure it. */
static void sic_user_exempt_from_local_acls(struct mail_user *user)
{
	struct mail_namespace_settings *const *ns_sets;
	struct mail_user_settings *set = (struct mail_user_settings *)user->set;
	unsigned int i, count, n = 1;
	const char *key, *value;

	if (!array_is_created(&set->namespaces) ||
	    !array_is_created(&set->plugin_envs))
		return;
	while (mail_user_plugin_getenv(user, n == 1 ? "acl_ignore_namespace" :
		t_strdup_printf("acl_ignore_namespace%u", n)) != NULL)
		n++;
	ns_sets = array_get(&set->namespaces, &count);
	for (i = 0; i < count; i++) {
		if (!str_begins(ns_sets[i]->location, SIC_STORAGE_NAME":"))
			continue;
		key = n == 1 ? "acl_ignore_namespace" :
			p_strdup_printf(user->pool, "acl_ignore_namespace%u", n);
		value = p_strdup(user->pool, sic_prefix_wildcard(ns_sets[i]->prefix));
		array_push_back(&set->plugin_envs, &key);
		array_push_back(&set->plugin_envs, &value);
		if (user->mail_debug) {
			e_debug(user->event, "shared_imapc: %s=%s (local ACLs "
				"do not apply; the owner's server checks rights)",
				key, value);
		}
		n++;
	}
}

/* Without the imap plugin module, the commands it carries are the imap
   process's own for shared folders too: THREAD and SORT are evaluated
   locally, and imap_acl's SETACL and DELETEACL answer OK without changing
   the owner's ACL. Said once per session, as the administrator's
   business. */
static bool sic_user_has_shared_namespace(struct mail_user *user)
{
	struct mail_namespace_settings *const *ns_set;

	if (!array_is_created(&user->set->namespaces))
		return FALSE;
	array_foreach(&user->set->namespaces, ns_set) {
		if (str_begins((*ns_set)->location, SIC_STORAGE_NAME":"))
			return TRUE;
	}
	return FALSE;
}

static void sic_user_check_imap_plugin(struct mail_user *user)
{
	const char *const *plugins;
	const char *plugin = "imap_shared_imapc";

	if (user->creator != NULL || !sic_user_has_shared_namespace(user) ||
	    user->service == NULL ||
	    strcmp(user->service, "imap") != 0 ||
	    user->set->mail_plugins == NULL)
		return;
	plugins = t_strsplit_spaces(user->set->mail_plugins, " ");
	if (str_array_find(plugins, plugin))
		return;
	e_warning(user->event, "shared_imapc: %s is not in mail_plugins: "
		  "THREAD, SORT, the ACL commands and GETQUOTAROOT on shared "
		  "folders are not sent to the owner's server (SETACL and "
		  "DELETEACL change nothing there)", plugin);
}

/* Reads the user's shared_imapc_* settings; invalid ones fail the user. */
static struct sic_settings *sic_user_read_settings(struct mail_user *user)
{
	ARRAY_TYPE(const_string) keys, values;
	const char *const *envs;
	unsigned int i, count;
	struct sic_settings *set;
	char *error = NULL;

	t_array_init(&keys, 16);
	t_array_init(&values, 16);
	if (array_is_created(&user->set->plugin_envs)) {
		envs = array_get(&user->set->plugin_envs, &count);
		for (i = 0; i + 1 < count; i += 2) {
			if (!str_begins(envs[i], SIC_SETTING_PREFIX))
				continue;
			array_push_back(&keys, &envs[i]);
			array_push_back(&values, &envs[i + 1]);
		}
	}
	count = array_count(&keys);
	set = sic_settings_parse(count == 0 ? NULL : array_front(&keys),
				 count == 0 ? NULL : array_front(&values),
				 count, &error);
	if (set == NULL) {
		user->error = p_strdup_printf(user->pool,
			"shared_imapc: invalid settings for user %s: %s",
			user->username, error != NULL ? error : "unknown error");
		sic_string_free(error);
	}
	return set;
}

/* The home that keeps the owners' listings across the user's sessions.
   None for the owners' user objects Dovecot creates inside a session, and
   for users without a home. */
static const char *sic_user_list_cache_home(struct mail_user *user)
{
	const char *home;

	if (user->autocreated || mail_user_get_home(user, &home) <= 0 ||
	    home == NULL || *home == '\0')
		return NULL;
	return home;
}

/* The owner object of a shared namespace (nobody of shared/nobody/INBOX)
   whom the userdb does not know: the shared storage still opens the
   owner's own namespace at the owner's home ("~" of the location), which
   fails without a log line, and the user gets a SERVERBUG. A home that is
   never used lets it open; the storage then finds no folders there. */
static void sic_user_settle_unknown_owner(struct mail_user *user)
{
	const char *home;

	if (!user->autocreated || user->creator == NULL ||
	    mail_user_get_home(user, &home) != 0 || !user->nonexistent)
		return;
	mail_user_set_home(user, t_strconcat(user->set->base_dir,
		"/user-not-found/", user->username, NULL));
}

static void sic_mail_user_created(struct mail_user *user)
{
	struct mail_user_vfuncs *v = user->vlast;
	struct sic_user *suser;
	struct sic_settings *set;
	char *description;

	sic_user_settle_unknown_owner(user);
	sic_acl_use_master_groups(user);
	set = sic_user_read_settings(user);
	if (set == NULL)
		return;
	if (user->mail_debug) {
		description = sic_settings_describe(set);
		e_debug(user->event, "shared_imapc: settings: %s",
			description != NULL ? description : "(unavailable)");
		sic_string_free(description);
	}

	suser = p_new(user->pool, struct sic_user, 1);
	suser->set = set;
	suser->account = sic_account_new(set,
		user->mail_debug ? user->event : NULL,
		user->conn.remote_ip == NULL ? NULL : net_ip2addr(user->conn.remote_ip),
		sic_user_list_cache_home(user));
	sic_user_exempt_from_local_acls(user);
	sic_user_check_imap_plugin(user);
	sic_user_watch_unused(user, suser);
	suser->module_ctx.super = *v;
	user->vlast = &suser->module_ctx.super;
	v->deinit = sic_user_deinit;
	MODULE_CONTEXT_SET(user, sic_user_module, suser);
}

static struct mail_storage_hooks sic_mail_storage_hooks = {
	.mail_user_created = sic_mail_user_created,
};

/* Whether this process has mail storage (imap, lmtp, doveadm …): Dovecot's
   dict server loads the module too, only for the dict driver, and has no
   storage hooks to add to. */
static bool sic_storage_hooks_added;

void sic_shim_init(struct module *module)
{
	if (array_is_created(&mail_storage_classes)) {
		mail_storage_hooks_add(module, &sic_mail_storage_hooks);
		sic_storage_register();
		sic_storage_hooks_added = TRUE;
	}
	sic_dict_driver_register();
}

void sic_shim_deinit(void)
{
	sic_dict_driver_unregister();
	if (sic_storage_hooks_added) {
		sic_storage_unregister();
		mail_storage_hooks_remove(&sic_mail_storage_hooks);
	}
	sic_storage_hooks_added = FALSE;
}
