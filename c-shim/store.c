/* A STORE the local index takes for a no-op. Dovecot drops a flag or
   keyword change the message already shows in the index: right where the
   index is the mail, not here, where the owner's server may have changed
   the message since the last sync (alice clears \Seen, bob not told yet
   sets it again). Such a change is kept aside, in this process, and passed
   on at the next sync before the logged ones; unlike them it shows the
   client nothing itself: only the owner's server's answer does. */
#include "shim.h"
#include "mail-index.h"
#include "storage.h"

/* A change kept aside: one flag mask or one keyword of one message. */
struct sic_unlogged_store {
	/* The transaction it was made in; NULL once that committed. */
	const void *trans;
	uint32_t uid;
	/* The folder it was made in (see sic_folder_accepts_changes). */
	uint32_t uidvalidity;
	bool add;
	uint8_t flags;
	/* One of the index's keyword names (they last as long as it does),
	   or NULL. */
	const char *keyword;
};

/* Marks the changes of a transaction being committed: after the commit,
   the transaction is gone. */
static const char sic_committing;

static void sic_unlogged_store_note(struct mail *mail, bool add,
				    uint8_t flags, const char *keyword)
{
	struct sic_mailbox *mbox = SIC_MAILBOX(mail->box);
	struct sic_unlogged_store *store;

	/* A message saved in this transaction has no UID yet (it is new to
	   the owner's server too); an EXAMINE passes nothing on (sync.c). */
	if (mail->uid == 0 || (mail->box->flags & MAILBOX_FLAG_READONLY) != 0)
		return;
	if (!array_is_created(&mbox->unlogged_stores))
		i_array_init(&mbox->unlogged_stores, 8);
	store = array_append_space(&mbox->unlogged_stores);
	store->trans = mail->transaction;
	store->uid = mail->uid;
	store->uidvalidity = mail_index_get_header(mail->box->view)->uid_validity;
	store->add = add;
	store->flags = flags;
	store->keyword = keyword;
}

/* Forgets the changes of trans (NULL: those committed). */
static void sic_unlogged_stores_forget(struct sic_mailbox *mbox, const void *trans)
{
	struct sic_unlogged_store *stores;
	unsigned int i, count;

	if (!array_is_created(&mbox->unlogged_stores))
		return;
	stores = array_get_modifiable(&mbox->unlogged_stores, &count);
	for (i = count; i > 0; i--) {
		if (stores[i - 1].trans == trans)
			array_delete(&mbox->unlogged_stores, i - 1, 1);
	}
}

static void sic_unlogged_stores_retag(struct sic_mailbox *mbox,
				      const void *from, const void *to)
{
	struct sic_unlogged_store *store;

	if (!array_is_created(&mbox->unlogged_stores))
		return;
	array_foreach_modifiable(&mbox->unlogged_stores, store) {
		if (store->trans == from)
			store->trans = to;
	}
}

void sic_mail_update_flags(struct mail *mail, enum modify_type modify_type,
			   enum mail_flags flags)
{
	enum mail_flags wanted = flags & MAIL_FLAGS_NONRECENT;
	enum mail_flags shown = mail_get_flags(mail) & MAIL_FLAGS_NONRECENT;

	switch (modify_type) {
	case MODIFY_ADD:
		if (wanted != 0 && (shown & wanted) == wanted)
			sic_unlogged_store_note(mail, TRUE, wanted, NULL);
		break;
	case MODIFY_REMOVE:
		if (wanted != 0 && (shown & wanted) == 0)
			sic_unlogged_store_note(mail, FALSE, wanted, NULL);
		break;
	case MODIFY_REPLACE:
		if (shown != wanted)
			break;
		if (wanted != 0)
			sic_unlogged_store_note(mail, TRUE, wanted, NULL);
		if ((MAIL_FLAGS_NONRECENT & ~wanted) != 0) {
			sic_unlogged_store_note(mail, FALSE,
				MAIL_FLAGS_NONRECENT & ~wanted, NULL);
		}
		break;
	}
	index_mail_update_flags(mail, modify_type, flags);
}

static bool sic_keyword_in(const unsigned int *idx, unsigned int count,
			   unsigned int wanted)
{
	unsigned int i;

	for (i = 0; i < count; i++) {
		if (idx[i] == wanted)
			return TRUE;
	}
	return FALSE;
}

/* Whether the change leaves the keywords the index shows as they are. */
static bool sic_keywords_unchanged(const ARRAY_TYPE(keyword_indexes) *shown,
				   enum modify_type modify_type,
				   const struct mail_keywords *keywords)
{
	unsigned int i, shown_count;
	const unsigned int *shown_idx = array_get(shown, &shown_count);

	for (i = 0; i < keywords->count; i++) {
		if (sic_keyword_in(shown_idx, shown_count, keywords->idx[i]) ==
		    (modify_type == MODIFY_REMOVE))
			return FALSE;
	}
	return modify_type != MODIFY_REPLACE || shown_count == keywords->count;
}

void sic_mail_update_keywords(struct mail *mail, enum modify_type modify_type,
			      struct mail_keywords *keywords)
{
	const ARRAY_TYPE(keywords) *names = mail_index_get_keywords(mail->box->index);
	unsigned int idx;
	bool listed;

	if (sic_keywords_unchanged(mail_get_keyword_indexes(mail), modify_type,
				   keywords)) {
		/* Each keyword the index knows: those listed are added (or
		   removed); a replace also removes those not listed, which
		   the owner's server may have added since. */
		for (idx = 0; idx < array_count(names); idx++) {
			listed = sic_keyword_in(keywords->idx, keywords->count, idx);
			if (!listed && modify_type != MODIFY_REPLACE)
				continue;
			sic_unlogged_store_note(mail, listed &&
				modify_type != MODIFY_REMOVE, 0,
				array_idx_elem(names, idx));
		}
	}
	index_mail_update_keywords(mail, modify_type, keywords);
}

int sic_transaction_commit(struct mailbox_transaction_context *t,
			   struct mail_transaction_commit_changes *changes_r)
{
	struct sic_mailbox *mbox = SIC_MAILBOX(t->box);

	sic_unlogged_stores_retag(mbox, t, &sic_committing);
	if (index_transaction_commit(t, changes_r) < 0) {
		sic_unlogged_stores_forget(mbox, &sic_committing);
		return -1;
	}
	sic_unlogged_stores_retag(mbox, &sic_committing, NULL);
	return 0;
}

void sic_transaction_rollback(struct mailbox_transaction_context *t)
{
	sic_unlogged_stores_forget(SIC_MAILBOX(t->box), t);
	index_transaction_rollback(t);
}

/* Orders changes of one kind (direction, flags, keyword) together. */
static int sic_flag_change_kind_cmp(const struct sic_flag_change *a,
				    const struct sic_flag_change *b)
{
	if (a->add != b->add)
		return a->add - b->add;
	if (a->flags != b->flags)
		return (int)a->flags - (int)b->flags;
	if (a->keyword == NULL || b->keyword == NULL)
		return (a->keyword != NULL) - (b->keyword != NULL);
	return strcmp(a->keyword, b->keyword);
}

static int sic_flag_change_cmp(const struct sic_flag_change *a,
			       const struct sic_flag_change *b)
{
	int ret = sic_flag_change_kind_cmp(a, b);

	if (ret != 0)
		return ret;
	return a->uid1 < b->uid1 ? -1 : (a->uid1 > b->uid1 ? 1 : 0);
}

/* Drops, with a warning, the committed changes made in a folder the
   owner's server has replaced since. */
static void sic_unlogged_stores_drop_replaced(struct sic_mailbox *mbox)
{
	struct sic_unlogged_store *stores;
	unsigned int i, count, dropped = 0;

	stores = array_get_modifiable(&mbox->unlogged_stores, &count);
	for (i = count; i > 0; i--) {
		if (stores[i - 1].trans != NULL ||
		    sic_folder_accepts_changes(mbox->folder,
					       stores[i - 1].uidvalidity) != 0)
			continue;
		array_delete(&mbox->unlogged_stores, i - 1, 1);
		dropped++;
	}
	if (dropped > 0) {
		e_warning(mbox->box.event, "shared_imapc: %u of the user's "
			  "changes dropped: made in a folder the owner's "
			  "server has replaced since", dropped);
	}
}

/* The committed changes, each kind's neighbouring UIDs as one range (a
   "mark all read" goes as one). */
static void sic_unlogged_stores_ranges(struct sic_mailbox *mbox,
				       ARRAY_TYPE(sic_flag_change) *changes)
{
	const struct sic_unlogged_store *store;
	struct sic_flag_change *change, *last;
	unsigned int i, count, kept;

	array_foreach(&mbox->unlogged_stores, store) {
		if (store->trans != NULL)
			continue;
		change = array_append_space(changes);
		change->uid1 = change->uid2 = store->uid;
		change->add = store->add ? 1 : 0;
		change->flags = store->flags;
		change->keyword = store->keyword;
	}
	array_sort(changes, sic_flag_change_cmp);
	change = array_get_modifiable(changes, &count);
	for (i = 1, kept = count == 0 ? 0 : 1; i < count; i++) {
		last = &change[kept - 1];
		if (sic_flag_change_kind_cmp(&change[i], last) == 0 &&
		    change[i].uid1 <= last->uid2 + 1)
			last->uid2 = I_MAX(last->uid2, change[i].uid2);
		else
			change[kept++] = change[i];
	}
	if (kept < count)
		array_delete(changes, kept, count - kept);
}

int sic_unlogged_stores_push(struct sic_mailbox *mbox)
{
	ARRAY_TYPE(sic_flag_change) changes;
	struct sic_error error;
	bool temporary;
	int ret;

	if (!array_is_created(&mbox->unlogged_stores))
		return 0;
	sic_unlogged_stores_drop_replaced(mbox);
	t_array_init(&changes, 8);
	sic_unlogged_stores_ranges(mbox, &changes);
	if (array_is_empty(&changes))
		return 0;
	i_zero(&error);
	ret = sic_folder_store(mbox->folder, array_front(&changes),
			       array_count(&changes), 1, &error);
	if (ret < 0) {
		temporary = sic_error_is_temporary(&error);
		sic_mailbox_report(&mbox->box, &error);
		if (temporary)
			return -1;
	}
	sic_unlogged_stores_forget(mbox, NULL);
	return ret < 0 ? -2 : 1;
}

void sic_unlogged_stores_free(struct sic_mailbox *mbox)
{
	const struct sic_unlogged_store *store;
	unsigned int left = 0;

	if (!array_is_created(&mbox->unlogged_stores))
		return;
	/* What no sync passed on (a folder closed with no sync since the
	   change, as doveadm flags does, or after the owner's server could
	   not take it). */
	if (mbox->folder != NULL) T_BEGIN {
		(void)sic_unlogged_stores_push(mbox);
	} T_END;
	array_foreach(&mbox->unlogged_stores, store)
		left += store->trans == NULL ? 1 : 0;
	if (left > 0) {
		e_warning(mbox->box.event, "shared_imapc: %u of the user's "
			  "changes not passed on: the folder closed before "
			  "the owner's server could take them", left);
	}
	array_free(&mbox->unlogged_stores);
}
