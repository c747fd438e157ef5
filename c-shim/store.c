/* A STORE the local index takes for a no-op. Dovecot drops a flag or
   keyword change the message already shows in the index: right where the
   index is the mail, not here, where the owner's server may have changed
   the message since the last sync (alice clears \Seen, bob not told yet
   sets it again). Such a change is kept aside, per process, and passed on
   at the next sync with the logged ones; unlike them it shows the client
   nothing itself: only the owner's server's answer does, as alice's own
   server would answer her. */
#include "shim.h"
#include "mail-index.h"
#include "storage.h"

/* A change kept aside: one flag mask or one keyword of one message. */
struct sic_unlogged_store {
	/* The transaction it was made in; NULL once that committed. */
	const struct mailbox_transaction_context *trans;
	uint32_t uid;
	/* The folder it was made in (see sic_folder_accepts_changes). */
	uint32_t uidvalidity;
	bool add;
	uint8_t flags;
	char *keyword;
};

static void sic_unlogged_store_note(struct mail *mail, bool add,
				    uint8_t flags, const char *keyword)
{
	struct sic_mailbox *mbox = SIC_MAILBOX(mail->box);
	struct sic_unlogged_store *store;

	/* (A message saved in this transaction has no UID yet: it is new
	   to the owner's server too.) */
	if (mail->uid == 0)
		return;
	if (!array_is_created(&mbox->unlogged_stores))
		i_array_init(&mbox->unlogged_stores, 8);
	store = array_append_space(&mbox->unlogged_stores);
	store->trans = mail->transaction;
	store->uid = mail->uid;
	store->uidvalidity = mail_index_get_header(mail->box->view)->uid_validity;
	store->add = add;
	store->flags = flags;
	store->keyword = i_strdup(keyword);
}

/* Forgets the changes of trans (NULL: those committed). */
static void sic_unlogged_stores_forget(struct sic_mailbox *mbox,
				       const struct mailbox_transaction_context *trans)
{
	struct sic_unlogged_store *stores;
	unsigned int i, count;

	if (!array_is_created(&mbox->unlogged_stores))
		return;
	stores = array_get_modifiable(&mbox->unlogged_stores, &count);
	for (i = count; i > 0; i--) {
		if (stores[i - 1].trans == trans) {
			i_free(stores[i - 1].keyword);
			array_delete(&mbox->unlogged_stores, i - 1, 1);
		}
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

static bool sic_keyword_shown(const ARRAY_TYPE(keyword_indexes) *shown,
			      unsigned int idx)
{
	const unsigned int *shown_idx;

	array_foreach(shown, shown_idx) {
		if (*shown_idx == idx)
			return TRUE;
	}
	return FALSE;
}

/* Whether the change leaves the keywords the index shows as they are.
   (Those of a replace the index does not know of, the owner's server
   added since, are not removed: the index cannot name them.) */
static bool sic_keywords_unchanged(const ARRAY_TYPE(keyword_indexes) *shown,
				   enum modify_type modify_type,
				   const struct mail_keywords *keywords)
{
	unsigned int i;

	for (i = 0; i < keywords->count; i++) {
		if (sic_keyword_shown(shown, keywords->idx[i]) ==
		    (modify_type == MODIFY_REMOVE))
			return FALSE;
	}
	return modify_type != MODIFY_REPLACE ||
		array_count(shown) == keywords->count;
}

void sic_mail_update_keywords(struct mail *mail, enum modify_type modify_type,
			      struct mail_keywords *keywords)
{
	const ARRAY_TYPE(keyword_indexes) *shown = mail_get_keyword_indexes(mail);
	const ARRAY_TYPE(keywords) *names = mail_index_get_keywords(mail->box->index);
	unsigned int i;

	if (sic_keywords_unchanged(shown, modify_type, keywords)) {
		for (i = 0; i < keywords->count; i++) {
			if (keywords->idx[i] >= array_count(names))
				continue;
			sic_unlogged_store_note(mail, modify_type != MODIFY_REMOVE, 0,
				array_idx_elem(names, keywords->idx[i]));
		}
	}
	index_mail_update_keywords(mail, modify_type, keywords);
}

int sic_transaction_commit(struct mailbox_transaction_context *t,
			   struct mail_transaction_commit_changes *changes_r)
{
	struct sic_mailbox *mbox = SIC_MAILBOX(t->box);
	struct sic_unlogged_store *store;

	/* t is freed by the commit, whatever it returns. */
	if (index_transaction_commit(t, changes_r) < 0) {
		sic_unlogged_stores_forget(mbox, t);
		return -1;
	}
	if (array_is_created(&mbox->unlogged_stores)) {
		array_foreach_modifiable(&mbox->unlogged_stores, store) {
			if (store->trans == t)
				store->trans = NULL;
		}
	}
	return 0;
}

void sic_transaction_rollback(struct mailbox_transaction_context *t)
{
	struct sic_mailbox *mbox = SIC_MAILBOX(t->box);

	index_transaction_rollback(t);
	sic_unlogged_stores_forget(mbox, t);
}

void sic_unlogged_stores_take(struct sic_mailbox *mbox,
			      ARRAY_TYPE(sic_flag_change) *changes)
{
	const struct sic_unlogged_store *store;
	struct sic_flag_change *change;
	unsigned int dropped = 0;

	if (!array_is_created(&mbox->unlogged_stores))
		return;
	array_foreach(&mbox->unlogged_stores, store) {
		if (store->trans != NULL)
			continue;
		if (sic_folder_accepts_changes(mbox->folder, store->uidvalidity) == 0) {
			dropped++;
			continue;
		}
		change = array_append_space(changes);
		change->uid1 = change->uid2 = store->uid;
		change->add = store->add ? 1 : 0;
		change->flags = store->flags;
		change->keyword = store->keyword;
	}
	if (dropped > 0) {
		e_warning(mbox->box.event, "shared_imapc: %u of the user's "
			  "changes dropped: made in a folder the owner's "
			  "server has replaced since", dropped);
	}
}

void sic_unlogged_stores_done(struct sic_mailbox *mbox)
{
	sic_unlogged_stores_forget(mbox, NULL);
}

void sic_unlogged_stores_free(struct sic_mailbox *mbox)
{
	struct sic_unlogged_store *store;

	if (!array_is_created(&mbox->unlogged_stores))
		return;
	array_foreach_modifiable(&mbox->unlogged_stores, store)
		i_free(store->keyword);
	array_free(&mbox->unlogged_stores);
}
