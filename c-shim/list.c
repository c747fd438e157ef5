/* The shared_imapc mailbox list: Dovecot's "fs" layout for the local index
   directories (~/shared/<owner>/<folder>), with the listing itself taken
   from the owner's remote, which shows only what the user may see. */
#include "shim.h"
#include "imap-match.h"
#include "dict.h"
#include "mail-user.h"
#include "mailbox-list-private.h"
#include "mailbox-list-subscriptions.h"
#include "mailbox-tree.h"
#include "storage.h"

/* A folder the session knows of without the owner's listing. */
struct sic_known_folder {
	const char *vname;
	enum mailbox_info_flags flags;
};

struct sic_list_iter {
	struct mailbox_list_iterate_context ctx;
	struct sic_folder_list *folders;
	unsigned int next;
	/* Listed when the owner's server lists nothing: the folders open in
	   the session, and when it could not be asked, the user's
	   subscriptions (sic_list_keep_known). */
	ARRAY(struct sic_known_folder) known;
	unsigned int next_known;
	/* LSUB and LIST (SUBSCRIBED): Dovecot's iteration of the user's
	   subscriptions gives the names, the owner's listing (folders) the
	   flags, when the owner's server answered (owner_listed). */
	struct mailbox_list_iterate_context *subscribed;
	bool owner_listed;
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

/* Lists vname from what the session knows (once: an open folder may be
   subscribed too). */
static void sic_list_keep(struct sic_list_iter *iter, const char *vname,
			  enum mailbox_info_flags flags)
{
	const struct sic_known_folder *known;
	struct sic_known_folder *added;

	array_foreach(&iter->known, known) {
		if (strcmp(known->vname, vname) == 0)
			return;
	}
	added = array_append_space(&iter->known);
	added->vname = p_strdup(iter->ctx.pool, vname);
	added->flags = flags;
}

/* The user's subscriptions in this namespace (flags unknown). */
static void sic_list_keep_subscribed(struct sic_list_iter *iter)
{
	struct mailbox_list *list = iter->ctx.list;
	struct mailbox_tree_iterate_context *tree;
	const char *vname;

	if (mailbox_list_iter_subscriptions_refresh(list) < 0 ||
	    list->subscriptions == NULL)
		return;
	tree = mailbox_tree_iterate_init(list->subscriptions, NULL,
					 MAILBOX_SUBSCRIBED);
	while (mailbox_tree_iterate_next(tree, &vname) != NULL)
		sic_list_keep(iter, vname, 0);
	mailbox_tree_iterate_deinit(&tree);
}

/* When the owner's server lists nothing, the folders the session knows of
   are listed: those open in this namespace (it is down, or the rights are
   gone), and when the server could not be asked, the user's subscriptions
   too. The acl plugin frees an owner's namespace that the session's first
   LIST shows nothing in (acl_shared_namespace_add): with a folder of it
   open Dovecot panics, and LSUB would miss the subscriptions. */
static void sic_list_keep_known(struct sic_list_iter *iter,
				struct mail_storage *storage)
{
	struct mailbox *box;

	if (sic_folder_list_count(iter->folders) > 0)
		return;
	for (box = storage->mailboxes; box != NULL; box = box->next) {
		if (box->opened && box->list == iter->ctx.list)
			sic_list_keep(iter, box->vname, MAILBOX_NOCHILDREN);
	}
	if (iter->folders == NULL)
		sic_list_keep_subscribed(iter);
}

/* Whether only the names are asked for (LSUB): Dovecot then needs no flag
   of ours. */
static bool sic_list_names_only(enum mailbox_list_iter_flags flags)
{
	return (flags & MAILBOX_LIST_ITER_RETURN_NO_FLAGS) != 0 &&
		(flags & MAILBOX_LIST_ITER_RETURN_CHILDREN) == 0;
}

/* The owner's folders into iter->folders; FALSE when the owner's server
   could not be asked (logged): what is known is listed instead, since one
   owner's server being down must not fail the user's whole listing. */
static bool sic_list_ask_owner(struct sic_list_iter *iter,
			       struct sic_storage *storage)
{
	struct sic_error error;

	i_zero(&error);
	iter->folders = sic_owner_list(storage->owner, &error);
	if (iter->folders != NULL)
		return TRUE;
	sic_storage_report(&storage->storage, &error);
	return FALSE;
}

/* LSUB and LIST (SUBSCRIBED): the subscriptions are the user's own (the
   shared namespace has subscriptions = no), so they are listed whatever
   the owner's server answers; its listing only adds the flags. */
static void sic_list_subscribed_init(struct sic_list_iter *iter,
				     const char *const *patterns,
				     struct sic_storage *storage)
{
	enum mailbox_list_iter_flags flags = iter->ctx.flags;

	/* Names only: Dovecot's generic iteration would take the flags from
	   the local cache's directories, which know nothing of the owner's
	   folders. */
	iter->subscribed = mailbox_list_subscriptions_iter_init(
		iter->ctx.list, patterns,
		(flags | MAILBOX_LIST_ITER_RETURN_NO_FLAGS) &
		ENUM_NEGATE(MAILBOX_LIST_ITER_RETURN_CHILDREN));
	if (sic_list_names_only(flags))
		return;
	if (storage->owner == NULL) {
		/* An owner without folders (see sic_storage_create). */
		iter->owner_listed = TRUE;
		return;
	}
	/* The owners subscribed to were opened by Dovecot's reading of the
	   subscriptions: log in to them together. */
	sic_account_connect_pending(storage->account);
	iter->owner_listed = sic_list_ask_owner(iter, storage);
}

/* The flags the owner's listing gives the folder vname of this namespace:
   \NonExistent when the owner's server did not list it (as Dovecot says
   of a subscribed folder that is gone), none when it could not be asked. */
static enum mailbox_info_flags
sic_list_owner_flags(struct sic_list_iter *iter, const char *vname)
{
	const struct mail_namespace *ns = iter->ctx.list->ns;
	unsigned int i, count = sic_folder_list_count(iter->folders), bits;
	const char *listed;

	if (!iter->owner_listed)
		return 0;
	if (strncmp(vname, ns->prefix, ns->prefix_len) == 0) {
		for (i = 0; i < count; i++) {
			listed = sic_folder_list_get(iter->folders, i, &bits);
			if (listed != NULL && sic_folder_name_equals(
					vname + ns->prefix_len, listed))
				return sic_list_info_flags(bits);
		}
	}
	return MAILBOX_NONEXISTENT;
}

static const struct mailbox_info *
sic_list_subscribed_next(struct sic_list_iter *iter)
{
	const struct mailbox_info *info;

	info = mailbox_list_subscriptions_iter_next(iter->subscribed);
	if (info == NULL)
		return NULL;
	iter->info.vname = info->vname;
	iter->info.flags = info->flags;
	if (!sic_list_names_only(iter->ctx.flags))
		iter->info.flags |= sic_list_owner_flags(iter, info->vname);
	return &iter->info;
}

/* iter->info for vname, when it matches the patterns; with the user's
   subscription for LIST … RETURN (SUBSCRIBED). */
static bool sic_list_match(struct sic_list_iter *iter, const char *vname,
			   enum mailbox_info_flags flags)
{
	struct mailbox_list_iterate_context *ctx = &iter->ctx;

	if ((imap_match(ctx->glob, vname) & IMAP_MATCH_YES) == 0)
		return FALSE;
	iter->info.vname = vname;
	iter->info.flags = flags;
	/* Read before the iteration began (mailbox_list_iter_init_multiple). */
	if ((ctx->flags & MAILBOX_LIST_ITER_RETURN_SUBSCRIBED) != 0 &&
	    ctx->list->subscriptions != NULL) {
		mailbox_list_set_subscription_flags(ctx->list, vname,
						    &iter->info.flags);
	}
	return TRUE;
}

static struct mailbox_list_iterate_context *
sic_list_iter_init(struct mailbox_list *list, const char *const *patterns,
		   enum mailbox_list_iter_flags flags)
{
	struct sic_storage *storage =
		SIC_STORAGE(mail_namespace_get_default_storage(list->ns));
	struct sic_list_iter *iter;
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
	p_array_init(&iter->known, pool, 1);

	if ((flags & MAILBOX_LIST_ITER_SELECT_SUBSCRIBED) != 0) {
		sic_list_subscribed_init(iter, patterns, storage);
		return &iter->ctx;
	}
	if (storage->owner == NULL)
		return &iter->ctx;

	sic_list_connect_owners(list, storage);
	(void)sic_list_ask_owner(iter, storage);
	sic_list_keep_known(iter, &storage->storage);
	return &iter->ctx;
}

static const struct mailbox_info *
sic_list_iter_next(struct mailbox_list_iterate_context *ctx)
{
	struct sic_list_iter *iter = (struct sic_list_iter *)ctx;
	unsigned int count = sic_folder_list_count(iter->folders);
	const struct sic_known_folder *known;
	unsigned int bits;
	const char *name, *vname;

	if (iter->subscribed != NULL)
		return sic_list_subscribed_next(iter);
	while (iter->next < count) {
		name = sic_folder_list_get(iter->folders, iter->next++, &bits);
		if (name == NULL)
			continue;
		vname = p_strconcat(ctx->pool, ctx->list->ns->prefix, name, NULL);
		if (sic_list_match(iter, vname, sic_list_info_flags(bits)))
			return &iter->info;
	}
	while (iter->next_known < array_count(&iter->known)) {
		known = array_idx(&iter->known, iter->next_known++);
		if (sic_list_match(iter, known->vname, known->flags))
			return &iter->info;
	}
	return NULL;
}

static int sic_list_iter_deinit(struct mailbox_list_iterate_context *ctx)
{
	struct sic_list_iter *iter = (struct sic_list_iter *)ctx;
	int ret = ctx->failed ? -1 : 0;

	if (iter->subscribed != NULL &&
	    mailbox_list_subscriptions_iter_deinit(iter->subscribed) < 0)
		ret = -1;
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
