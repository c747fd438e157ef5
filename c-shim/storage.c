/* The shared_imapc mail storage and its mailboxes: Dovecot's index storage
   for the local cache, the Rust core (sic_owner_*, sic_folder_*) for
   everything the owner's server answers. */
#include "shim.h"
#include "ioloop.h"
#include "mail-cache.h"
#include "mail-copy.h"
#include "unlink-directory.h"
#include "mail-namespace.h"
#include "mailbox-list-private.h"
#include "storage.h"

#define SIC_UPDATE_ERROR \
	"shared_imapc: a shared folder's GUID, UIDVALIDITY and UIDs " \
	"are the owner's server's"

static struct mail_storage sic_storage_class;
static struct mailbox sic_mailbox_class;

static struct mail_storage *sic_storage_alloc(void)
{
	pool_t pool = pool_alloconly_create("shared_imapc storage", 512);
	struct sic_storage *storage = p_new(pool, struct sic_storage, 1);

	storage->storage = sic_storage_class;
	storage->storage.pool = pool;
	return &storage->storage;
}

/* Whether a master user opened this session as the user: shared_imapc on
   another backend does so. */
static bool sic_is_master_session(struct mail_user *user)
{
	const char *master = mail_user_plugin_getenv(user, "master_user");

	return master != NULL && *master != '\0' &&
		strcmp(master, user->username) != 0;
}

static int sic_storage_create(struct mail_storage *_storage,
			      struct mail_namespace *ns, const char **error_r)
{
	struct sic_storage *storage = SIC_STORAGE(_storage);
	struct sic_error error;

	/* ENVELOPE, BODY and BODYSTRUCTURE come from the owner's server
	   (mail.c): Dovecot need not plan to parse the message for them, which
	   would download it whole. */
	_storage->nonbody_access_fields |= MAIL_FETCH_IMAP_ENVELOPE |
		MAIL_FETCH_IMAP_BODY | MAIL_FETCH_IMAP_BODYSTRUCTURE;
	/* Storages are shared by root directory: ~/shared/<owner> is one
	   owner's. */
	_storage->unique_root_dir = p_strdup(_storage->pool,
		ns->list->set.root_dir != NULL ? ns->list->set.root_dir : "");
	/* The shared storage also opens a namespace for its internal user
	   object of the owner: that one stays offline. So does the namespace
	   of an owner the userdb does not know: no folders there, as with
	   Dovecot's own shared namespaces (and no login attempt). */
	if (ns->type != MAIL_NAMESPACE_TYPE_SHARED || ns->owner == NULL ||
	    ns->owner == ns->user || ns->owner->nonexistent ||
	    (ns->flags & NAMESPACE_FLAG_UNUSABLE) != 0)
		return 0;
	storage->account = sic_user_account(ns->user);
	if (storage->account == NULL) {
		*error_r = "shared_imapc: the user's shared_imapc settings are unavailable";
		return -1;
	}
	/* Folders shared with the user are never reachable through a master
	   user's session as the user: bob, reading alice's folders, must not
	   reach what dave shared with alice (nor cause logins as dave). */
	if (sic_is_master_session(ns->user)) {
		e_debug(_storage->event, "shared_imapc: %s: not offered in "
			"sessions opened by a master user", ns->prefix);
		return 0;
	}

	i_zero(&error);
	storage->owner = sic_owner_new(storage->account, ns->prefix,
				       ns->owner->username, &error);
	if (storage->owner == NULL && error.kind != SIC_ERR_NOTFOUND) {
		*error_r = t_strdup(error.message);
		sic_error_clear(&error);
		return -1;
	}
	sic_error_clear(&error);
	return 0;
}

static void sic_storage_destroy(struct mail_storage *_storage)
{
	struct sic_storage *storage = SIC_STORAGE(_storage);

	sic_owner_free(storage->owner);
	storage->owner = NULL;
	index_storage_destroy(_storage);
}

static void sic_storage_get_list_settings(const struct mail_namespace *ns ATTR_UNUSED,
					  struct mailbox_list_settings *set)
{
	if (set->layout == NULL)
		set->layout = SIC_LIST_NAME;
}

static struct mailbox *
sic_mailbox_alloc(struct mail_storage *storage, struct mailbox_list *list,
		  const char *vname, enum mailbox_flags flags)
{
	pool_t pool = pool_alloconly_create("shared_imapc mailbox", 2048);
	struct sic_mailbox *mbox = p_new(pool, struct sic_mailbox, 1);

	mbox->box = sic_mailbox_class;
	mbox->box.pool = pool;
	mbox->box.storage = storage;
	mbox->box.list = list;
	mbox->box.mail_vfuncs = &sic_mail_vfuncs;
	mbox->storage = SIC_STORAGE(storage);
	index_storage_mailbox_alloc(&mbox->box, vname, flags, MAIL_INDEX_PREFIX);
	return &mbox->box;
}

const char *sic_mailbox_folder_name(struct mailbox *box)
{
	const struct mail_namespace *ns = box->list->ns;

	if (strncmp(box->vname, ns->prefix, ns->prefix_len) == 0)
		return box->vname + ns->prefix_len;
	return "";
}

bool sic_folder_name_equals(const char *a, const char *b)
{
	if (strcasecmp(a, "INBOX") == 0)
		return strcasecmp(b, "INBOX") == 0;
	return strcmp(a, b) == 0;
}

static int sic_mailbox_exists(struct mailbox *box, bool auto_boxes ATTR_UNUSED,
			      enum mailbox_existence *existence_r)
{
	struct sic_mailbox *mbox = SIC_MAILBOX(box);
	const char *name = sic_mailbox_folder_name(box), *listed;
	struct sic_folder_list *folders;
	struct sic_error error;
	unsigned int i, count, bits;

	*existence_r = MAILBOX_EXISTENCE_NONE;
	if (mbox->storage->owner == NULL || *name == '\0')
		return 0;
	i_zero(&error);
	folders = sic_owner_list(mbox->storage->owner, &error);
	if (folders == NULL) {
		sic_storage_report(box->storage, &error);
		return -1;
	}
	count = sic_folder_list_count(folders);
	for (i = 0; i < count; i++) {
		listed = sic_folder_list_get(folders, i, &bits);
		if (listed == NULL || !sic_folder_name_equals(name, listed))
			continue;
		*existence_r = (bits & (SIC_LIST_NOSELECT | SIC_LIST_NONEXISTENT)) != 0 ?
			MAILBOX_EXISTENCE_NOSELECT : MAILBOX_EXISTENCE_SELECT;
		break;
	}
	sic_folder_list_free(folders);
	return 0;
}

void sic_index_known_state(struct sic_mailbox *mbox,
			   struct mail_index_view *view,
			   struct sic_index_header *hdr_r)
{
	const void *data;
	size_t size;

	i_zero(hdr_r);
	mail_index_get_header_ext(view, mbox->ext_id, &data, &size);
	if (size >= sizeof(*hdr_r))
		memcpy(hdr_r, data, sizeof(*hdr_r));
}

/* A cache file field of the remote's data, kept per message and read by
   every session of the user (TEMP: dropped again once unused). */
static unsigned int
sic_mailbox_register_field(struct mailbox *box, const char *name,
			   enum mail_cache_field_type type)
{
	struct mail_cache_field field = {
		.name = name,
		.type = type,
		.field_size = UINT_MAX,
		.decision = MAIL_CACHE_DECISION_TEMP,
	};

	mail_cache_register_fields(box->cache, &field, 1);
	return field.idx;
}

/* "Mailbox doesn't exist", as Dovecot says it: for the namespace of an
   owner without folders (see sic_storage_create), and where nothing is
   to be opened. */
static int sic_mailbox_not_found(struct mailbox *box)
{
	mail_storage_set_error(box->storage, MAIL_ERROR_NOTFOUND,
			       T_MAIL_ERR_MAILBOX_NOT_FOUND(box->vname));
	return -1;
}

static int sic_mailbox_open(struct mailbox *box)
{
	struct sic_mailbox *mbox = SIC_MAILBOX(box);
	struct sic_index_header known;
	struct sic_error error;

	/* A DELETE opens the folder first, as a \NoSelect one may not open:
	   the owner's server decides alone, whatever the user's rights to
	   read there. */
	if (mbox->storage->owner == NULL || box->deleting ||
	    *sic_mailbox_folder_name(box) == '\0')
		return sic_mailbox_not_found(box);
	if (index_storage_mailbox_open(box, FALSE) < 0)
		return -1;
	/* Dovecot never caches imap.envelope by default
	   (mail_never_cache_fields): it rebuilds it from cached headers,
	   which here means going remote. */
	mbox->envelope_cache_idx =
		sic_mailbox_register_field(box, "shared_imapc.envelope",
					   MAIL_CACHE_FIELD_STRING);
	/* The whole header (BODY[HEADER], a message list): Dovecot caches
	   only the header fields it parsed. */
	mbox->header_cache_idx =
		sic_mailbox_register_field(box, "shared_imapc.header",
					   MAIL_CACHE_FIELD_VARIABLE_SIZE);
	mbox->ext_id = mail_index_ext_register(box->index, "shared_imapc",
		sizeof(struct sic_index_header), 0, 0);
	mbox->asked_ext_id = mail_index_ext_register(box->index,
		"shared_imapc-asked", sizeof(uint64_t), 0, 0);
	sic_index_known_state(mbox, box->view, &known);

	i_zero(&error);
	mbox->folder = sic_folder_open(mbox->storage->owner,
				       sic_mailbox_folder_name(box),
				       (box->flags & MAILBOX_FLAG_READONLY) != 0,
				       known.uidvalidity, known.highest_modseq,
				       NULL, &error);
	if (mbox->folder == NULL) {
		sic_mailbox_report(box, &error);
		mailbox_close(box);
		return -1;
	}
	return 0;
}

static void sic_mailbox_close(struct mailbox *box)
{
	struct sic_mailbox *mbox = SIC_MAILBOX(box);

	sic_mailbox_idle_close(mbox);
	sic_unlogged_stores_free(mbox);
	sic_folder_free(mbox->folder);
	mbox->folder = NULL;
	index_storage_mailbox_close(box);
}

/* Read-only when asked for, or when the owner's server says so (the user
   has no rights to change anything there). */
static bool sic_mailbox_is_readonly(struct mailbox *box)
{
	struct sic_mailbox *mbox = SIC_MAILBOX(box);

	return (box->flags & MAILBOX_FLAG_READONLY) != 0 ||
		(mbox->folder != NULL && sic_folder_is_read_only(mbox->folder) != 0);
}

/* Whether update asks for nothing (a CREATE from IMAP passes none). */
static bool sic_mailbox_update_is_empty(const struct mailbox_update *update)
{
	return update == NULL ||
		(guid_128_is_empty(update->mailbox_guid) &&
		 update->uid_validity == 0 && update->min_next_uid == 0 &&
		 update->min_first_recent_uid == 0 &&
		 update->min_highest_modseq == 0 &&
		 update->min_highest_pvt_modseq == 0 &&
		 update->cache_updates == NULL);
}

/* CREATE: done by the owner's server, with the user's rights there. */
static int sic_mailbox_create(struct mailbox *box,
			      const struct mailbox_update *update,
			      bool directory)
{
	struct sic_mailbox *mbox = SIC_MAILBOX(box);
	struct sic_error error;

	if (!sic_mailbox_update_is_empty(update)) {
		mail_storage_set_error(box->storage, MAIL_ERROR_NOTPOSSIBLE,
				       SIC_UPDATE_ERROR);
		return -1;
	}
	if (mbox->storage->owner == NULL)
		return sic_mailbox_not_found(box);
	i_zero(&error);
	if (sic_owner_create(mbox->storage->owner, sic_mailbox_folder_name(box),
			     directory ? 1 : 0, &error) < 0) {
		sic_mailbox_report(box, &error);
		return -1;
	}
	return 0;
}

static int sic_mailbox_update(struct mailbox *box,
			      const struct mailbox_update *update ATTR_UNUSED)
{
	mail_storage_set_error(box->storage, MAIL_ERROR_NOTPOSSIBLE,
			       SIC_UPDATE_ERROR);
	return -1;
}

/* Removes the local cache directories of box, with what is below them,
   logging what could not go. */
static void sic_mailbox_remove_cache_dirs(struct mailbox *box)
{
	static const enum mailbox_list_path_type types[] = {
		MAILBOX_LIST_PATH_TYPE_DIR,
		MAILBOX_LIST_PATH_TYPE_INDEX,
	};
	const char *path, *first = NULL, *error;
	unsigned int i;

	for (i = 0; i < N_ELEMENTS(types); i++) {
		if (mailbox_list_get_path(box->list, box->name, types[i],
					  &path) <= 0 ||
		    null_strcmp(path, first) == 0)
			continue;
		first = path;
		if (unlink_directory(path, UNLINK_DIRECTORY_FLAG_RMDIR,
				     &error) < 0) {
			e_warning(box->event, "shared_imapc: the local cache "
				  "of %s stays behind: %s", box->vname, error);
		}
	}
}

/* After the owner's server deleted the folder: its local cache goes (its
   own files; those of the folders below it stay, as those folders do on
   the owner's server), so that nothing of it is taken for a folder made
   anew under the name. */
static void sic_mailbox_drop_cache(struct mailbox *box)
{
	enum mail_error error;
	const char *message;

	if (box->list->v.delete_mailbox(box->list, box->name) < 0) {
		message = mailbox_list_get_last_error(box->list, &error);
		if (error != MAIL_ERROR_NOTFOUND && error != MAIL_ERROR_EXISTS) {
			e_warning(box->event, "shared_imapc: the local cache "
				  "of %s stays behind: %s", box->vname, message);
		}
	}
	/* Gone when nothing is cached below it any more. */
	(void)box->list->v.delete_dir(box->list, box->name);
}

/* DELETE: done by the owner's server, with the user's rights there, then
   the local cache goes. */
static int sic_mailbox_delete(struct mailbox *box)
{
	struct sic_mailbox *mbox = SIC_MAILBOX(box);
	struct sic_error error;

	if (mbox->storage->owner == NULL)
		return sic_mailbox_not_found(box);
	i_zero(&error);
	if (sic_owner_delete(mbox->storage->owner, sic_mailbox_folder_name(box),
			     &error) < 0) {
		sic_mailbox_report(box, &error);
		return -1;
	}
	sic_mailbox_drop_cache(box);
	return 0;
}

/* After the owner's server renamed src to dest: the local cache (with the
   folders below) moves along, as it did there; the index keeps the
   folder's UIDVALIDITY, which a rename keeps. A cache that cannot move
   (one of dest left behind by a folder gone meanwhile) is dropped. */
static void sic_mailbox_move_cache(struct mailbox *src, struct mailbox *dest)
{
	enum mail_error error;
	const char *message;

	if (src->list->v.rename_mailbox(src->list, src->name,
					dest->list, dest->name) == 0)
		return;
	message = mailbox_list_get_last_error(src->list, &error);
	if (error == MAIL_ERROR_NOTFOUND)
		return;
	e_debug(src->event, "shared_imapc: the local cache of %s is dropped, "
		"not moved to %s: %s", src->vname, dest->vname, message);
	sic_mailbox_remove_cache_dirs(src);
}

/* RENAME within one owner's folders (Dovecot refuses a rename between
   storages, i.e. owners or namespaces, before asking): done by the owner's
   server, with the user's rights there. */
static int sic_mailbox_rename(struct mailbox *src, struct mailbox *dest)
{
	struct sic_mailbox *mbox = SIC_MAILBOX(src);
	struct sic_error error;

	if (mbox->storage->owner == NULL)
		return sic_mailbox_not_found(src);
	i_zero(&error);
	if (sic_owner_rename(mbox->storage->owner, sic_mailbox_folder_name(src),
			     sic_mailbox_folder_name(dest), &error) < 0) {
		sic_mailbox_report(src, &error);
		return -1;
	}
	sic_mailbox_move_cache(src, dest);
	return 0;
}

#define SIC_REMOTE_STATUS_ITEMS \
	(STATUS_MESSAGES | STATUS_RECENT | STATUS_UIDNEXT | \
	 STATUS_UIDVALIDITY | STATUS_UNSEEN | STATUS_HIGHESTMODSEQ)

static int sic_mailbox_get_status(struct mailbox *box,
				  enum mailbox_status_items items,
				  struct mailbox_status *status_r)
{
	struct sic_mailbox *mbox = SIC_MAILBOX(box);
	struct sic_status status;
	struct sic_error error;

	/* Anything beyond what STATUS answers needs the folder open. */
	if (box->opened || (items & ENUM_NEGATE(SIC_REMOTE_STATUS_ITEMS)) != 0)
		return index_storage_get_status(box, items, status_r);
	if (mbox->storage->owner == NULL) {
		mail_storage_set_error(box->storage, MAIL_ERROR_NOTFOUND,
				       T_MAIL_ERR_MAILBOX_NOT_FOUND(box->vname));
		return -1;
	}
	i_zero(&error);
	if (sic_owner_status(mbox->storage->owner, sic_mailbox_folder_name(box),
			     &status, &error) < 0) {
		sic_mailbox_report(box, &error);
		return -1;
	}
	status_r->messages = status.messages;
	/* No message of a shared folder is \Recent (README): the remote's
	   belong to its own session. */
	status_r->recent = 0;
	status_r->uidnext = status.uidnext;
	status_r->uidvalidity = status.uidvalidity;
	status_r->unseen = status.unseen;
	status_r->highest_modseq = status.highest_modseq;
	return 0;
}

static int sic_mailbox_get_metadata(struct mailbox *box,
				    enum mailbox_metadata_items items,
				    struct mailbox_metadata *metadata_r)
{
	if ((items & MAILBOX_METADATA_GUID) != 0) {
		/* Stable per owner and folder; the remote's GUID is not asked. */
		mail_generate_guid_128_hash(box->vname, metadata_r->guid);
		items &= ENUM_NEGATE(MAILBOX_METADATA_GUID);
	}
	if (items == 0)
		return 0;
	return index_mailbox_get_metadata(box, items, metadata_r);
}

static struct mail_storage sic_storage_class = {
	.name = SIC_STORAGE_NAME,
	/* One storage per owner (its own root), no quota of the viewer's. */
	.class_flags = MAIL_STORAGE_CLASS_FLAG_NO_ROOT |
		       MAIL_STORAGE_CLASS_FLAG_UNIQUE_ROOT |
		       MAIL_STORAGE_CLASS_FLAG_NOQUOTA |
		       MAIL_STORAGE_CLASS_FLAG_SECONDARY_INDEX,
	.v = {
		.alloc = sic_storage_alloc,
		.create = sic_storage_create,
		.destroy = sic_storage_destroy,
		.get_list_settings = sic_storage_get_list_settings,
		.mailbox_alloc = sic_mailbox_alloc,
	},
};

static struct mailbox sic_mailbox_class = {
	.v = {
		.is_readonly = sic_mailbox_is_readonly,
		.enable = index_storage_mailbox_enable,
		.exists = sic_mailbox_exists,
		.open = sic_mailbox_open,
		.close = sic_mailbox_close,
		.free = index_storage_mailbox_free,
		.create_box = sic_mailbox_create,
		.update_box = sic_mailbox_update,
		.delete_box = sic_mailbox_delete,
		.rename_box = sic_mailbox_rename,
		.get_status = sic_mailbox_get_status,
		.get_metadata = sic_mailbox_get_metadata,
		.set_subscribed = index_storage_set_subscribed,
		.attribute_set = sic_attribute_set,
		.attribute_get = sic_attribute_get,
		.attribute_iter_init = sic_attribute_iter_init,
		.attribute_iter_next = sic_attribute_iter_next,
		.attribute_iter_deinit = sic_attribute_iter_deinit,
		.sync_init = sic_mailbox_sync_init,
		.sync_next = index_mailbox_sync_next,
		.sync_deinit = sic_mailbox_sync_deinit,
		.notify_changes = sic_mailbox_notify_changes,
		.transaction_begin = index_transaction_begin,
		.transaction_commit = sic_transaction_commit,
		.transaction_rollback = sic_transaction_rollback,
		.mail_alloc = sic_mail_alloc,
		.search_init = sic_search_init,
		.search_deinit = sic_search_deinit,
		.search_next_nonblock = index_storage_search_next_nonblock,
		.search_next_update_seq = sic_search_next_update_seq,
		.search_next_match_mail = index_storage_search_next_match_mail,
		.save_alloc = sic_save_alloc,
		.save_begin = sic_save_begin,
		.save_continue = sic_save_continue,
		.save_finish = sic_save_finish,
		.save_cancel = sic_save_cancel,
		/* Through save_begin/continue/finish, from the source message. */
		.copy = sic_copy,
		.transaction_save_commit_pre = sic_save_commit_pre,
		.transaction_save_commit_post = sic_save_commit_post,
		.transaction_save_rollback = sic_save_rollback,
		.is_inconsistent = index_storage_is_inconsistent,
	},
};

void sic_storage_register(void)
{
	sic_list_register();
	mail_storage_class_register(&sic_storage_class);
}

void sic_storage_unregister(void)
{
	mail_storage_class_unregister(&sic_storage_class);
	sic_list_unregister();
}
