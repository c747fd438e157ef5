/* The shared_imapc mailbox list: Dovecot's "fs" layout for the local index
   directories (~/shared/<owner>/<folder>), with the listing itself taken
   from the owner's remote, which shows only what the user may see. */
#include "shim.h"
#include "imap-match.h"
#include "dict.h"
#include "mail-user.h"
#include "mailbox-list-private.h"
#include "storage.h"

struct sic_list_iter {
	struct mailbox_list_iterate_context ctx;
	struct sic_folder_list *folders;
	unsigned int next;
	/* Folders open in the session, listed when the owner's server
	   lists nothing (sic_list_keep_open_folders). */
	ARRAY_TYPE(const_string) open;
	unsigned int next_open;
	struct mailbox_info info;
};

static const struct mailbox_list *sic_fs_class;
static struct mailbox_list sic_mailbox_list;

static enum mailbox_info_flags sic_list_info_flags(unsigned int bits)
{
	static const struct {
		unsigned int bit;
		enum mailbox_info_flags flag;
	} map[] = {
		{ SIC_LIST_NOSELECT, MAILBOX_NOSELECT },
		{ SIC_LIST_NONEXISTENT, MAILBOX_NONEXISTENT },
		{ SIC_LIST_CHILDREN, MAILBOX_CHILDREN },
		{ SIC_LIST_NOCHILDREN, MAILBOX_NOCHILDREN },
		{ SIC_LIST_NOINFERIORS, MAILBOX_NOINFERIORS },
		{ SIC_LIST_MARKED, MAILBOX_MARKED },
		{ SIC_LIST_UNMARKED, MAILBOX_UNMARKED },
	};
	enum mailbox_info_flags flags = 0;
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(map); i++) {
		if ((bits & map[i].bit) != 0)
			flags |= map[i].flag;
	}
	return flags;
}

/* The owners who share with the user, from acl_shared_dict: the keys the
   acl plugin reads for LIST shared/... (anyone, user/<user>, group/<g>). */
static void sic_list_read_shared_owners(struct mail_user *user,
					ARRAY_TYPE(const_string) *owners)
{
	const char *uri = mail_user_plugin_getenv(user, "acl_shared_dict");
	const char *groups = mail_user_plugin_getenv(user, "acl_groups");
	const char *const *group, *key, *value, *error, *owner;
	ARRAY_TYPE(const_string) prefixes;
	struct dict_settings set;
	struct dict_iterate_context *iter;
	struct dict *dict;
	const char *prefix;

	/* Only our own driver: others may not iterate recursively (Dovecot
	   2.3's fs:posix asserts), and the acl plugin reads them anyway. */
	if (uri == NULL || !str_begins(uri, "shared_dict:"))
		return;
	i_zero(&set);
	set.base_dir = user->set->base_dir;
	set.event_parent = user->event;
	if (dict_init(uri, &set, &dict, &error) < 0) {
		e_debug(user->event, "shared_imapc: %s: %s", uri, error);
		return;
	}
	t_array_init(&prefixes, 8);
	prefix = "shared/shared-boxes/anyone/";
	array_push_back(&prefixes, &prefix);
	prefix = t_strconcat("shared/shared-boxes/user/", user->username, "/", NULL);
	array_push_back(&prefixes, &prefix);
	if (groups != NULL) {
		for (group = t_strsplit(groups, ","); *group != NULL; group++) {
			prefix = t_strconcat("shared/shared-boxes/group/", *group, "/", NULL);
			array_push_back(&prefixes, &prefix);
		}
	}
	array_foreach_elem(&prefixes, prefix) {
		iter = dict_iterate_init(dict, mail_user_get_dict_op_settings(user),
					 prefix, DICT_ITERATE_FLAG_RECURSE |
					 DICT_ITERATE_FLAG_NO_VALUE);
		while (dict_iterate(iter, &key, &value)) {
			owner = t_strdup(key + strlen(prefix));
			if (strchr(owner, '/') == NULL)
				array_push_back(owners, &owner);
		}
		if (dict_iterate_deinit(&iter, &error) < 0)
			e_debug(user->event, "shared_imapc: %s: %s", uri, error);
	}
	dict_deinit(&dict);
}

/* A LIST of the shared namespace opens the owners one after another; log
   in to all of them at once instead. */
static void sic_list_connect_owners(struct mailbox_list *list,
				    struct sic_storage *storage)
{
	ARRAY_TYPE(const_string) owners;

	if (list->ns->owner != NULL &&
	    sic_account_should_expect_owners(storage->account) != 0) T_BEGIN {
		t_array_init(&owners, 32);
		sic_list_read_shared_owners(list->ns->user, &owners);
		if (!array_is_empty(&owners)) {
			sic_account_expect_owners(storage->account,
				list->ns->prefix, list->ns->owner->username,
				array_front(&owners), array_count(&owners));
		}
	} T_END;
	sic_account_connect_pending(storage->account);
}

/* The acl plugin frees an owner's namespace that the session's first LIST
   shows nothing in (acl_shared_namespace_add); with a folder of it open,
   Dovecot panics. So when the owner's server lists nothing (it is down,
   or the rights are gone), the folders open in this namespace are listed
   still: the session has them already. */
static void sic_list_keep_open_folders(struct sic_list_iter *iter,
				       struct mail_storage *storage)
{
	struct mailbox *box;
	const char *vname;

	if (sic_folder_list_count(iter->folders) > 0)
		return;
	for (box = storage->mailboxes; box != NULL; box = box->next) {
		if (box->opened && box->list == iter->ctx.list) {
			vname = p_strdup(iter->ctx.pool, box->vname);
			array_push_back(&iter->open, &vname);
		}
	}
}

static struct mailbox_list_iterate_context *
sic_list_iter_init(struct mailbox_list *list, const char *const *patterns,
		   enum mailbox_list_iter_flags flags)
{
	struct sic_storage *storage =
		SIC_STORAGE(mail_namespace_get_default_storage(list->ns));
	struct sic_list_iter *iter;
	struct sic_error error;
	pool_t pool;

	pool = pool_alloconly_create("shared_imapc list iter", 1024);
	iter = p_new(pool, struct sic_list_iter, 1);
	iter->ctx.pool = pool;
	iter->ctx.list = list;
	iter->ctx.flags = flags;
	iter->ctx.glob = imap_match_init_multiple(pool, patterns, FALSE,
		mail_namespace_get_sep(list->ns));
	array_create(&iter->ctx.module_contexts, pool, sizeof(void *), 5);
	iter->info.ns = list->ns;
	p_array_init(&iter->open, pool, 1);

	/* Subscriptions live in the user's own namespace. */
	if ((flags & MAILBOX_LIST_ITER_SELECT_SUBSCRIBED) != 0 ||
	    storage->owner == NULL)
		return &iter->ctx;

	sic_list_connect_owners(list, storage);
	i_zero(&error);
	iter->folders = sic_owner_list(storage->owner, &error);
	if (iter->folders == NULL) {
		mailbox_list_set_error(list, sic_mail_error(error.kind),
				       error.message);
		sic_storage_report(&storage->storage, &error);
		iter->ctx.failed = TRUE;
	}
	sic_list_keep_open_folders(iter, &storage->storage);
	return &iter->ctx;
}

static const struct mailbox_info *
sic_list_iter_next(struct mailbox_list_iterate_context *ctx)
{
	struct sic_list_iter *iter = (struct sic_list_iter *)ctx;
	unsigned int count = sic_folder_list_count(iter->folders);
	unsigned int bits;
	const char *name;

	while (iter->next < count) {
		name = sic_folder_list_get(iter->folders, iter->next++, &bits);
		if (name == NULL)
			continue;
		iter->info.vname = p_strconcat(ctx->pool, ctx->list->ns->prefix,
					       name, NULL);
		iter->info.flags = sic_list_info_flags(bits);
		if ((imap_match(ctx->glob, iter->info.vname) &
		     IMAP_MATCH_YES) != 0)
			return &iter->info;
	}
	while (iter->next_open < array_count(&iter->open)) {
		iter->info.vname = array_idx_elem(&iter->open, iter->next_open++);
		iter->info.flags = MAILBOX_NOCHILDREN;
		if ((imap_match(ctx->glob, iter->info.vname) &
		     IMAP_MATCH_YES) != 0)
			return &iter->info;
	}
	return NULL;
}

static int sic_list_iter_deinit(struct mailbox_list_iterate_context *ctx)
{
	struct sic_list_iter *iter = (struct sic_list_iter *)ctx;
	int ret = ctx->failed ? -1 : 0;

	sic_folder_list_free(iter->folders);
	pool_unref(&ctx->pool);
	return ret;
}

static struct mailbox_list *sic_list_alloc(void)
{
	struct mailbox_list *list = sic_fs_class->v.alloc();

	list->name = sic_mailbox_list.name;
	list->props = sic_mailbox_list.props;
	list->v.iter_init = sic_list_iter_init;
	list->v.iter_next = sic_list_iter_next;
	list->v.iter_deinit = sic_list_iter_deinit;
	return list;
}

void sic_list_register(void)
{
	sic_fs_class = mailbox_list_find_class(MAILBOX_LIST_NAME_FS);
	i_assert(sic_fs_class != NULL);
	sic_mailbox_list = *sic_fs_class;
	sic_mailbox_list.name = SIC_LIST_NAME;
	/* The list index would answer STATUS from local data, before the
	   owner's server has checked the user's rights. */
	sic_mailbox_list.props |= MAILBOX_LIST_PROP_NO_LIST_INDEX |
		MAILBOX_LIST_PROP_AUTOCREATE_DIRS;
	sic_mailbox_list.v.alloc = sic_list_alloc;
	mailbox_list_register(&sic_mailbox_list);
}

void sic_list_unregister(void)
{
	mailbox_list_unregister(&sic_mailbox_list);
}
