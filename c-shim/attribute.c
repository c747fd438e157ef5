/* Mailbox attributes (IMAP METADATA) of shared folders: the /shared
   entries are the owner's, read and written on the owner's server with the
   user's rights there; the /private entries are the user's own and stay in
   Dovecot's local attribute store, as do Dovecot's internal ones
   (vendor/vendor.dovecot/). Dovecot's GETMETADATA and SETMETADATA go
   through these per entry, so a request naming both kinds is split
   entry by entry. */
#include "shim.h"
#include "str.h"
#include "storage.h"

struct sic_attribute_iter {
	struct mailbox_attribute_iter iter;
	/* The local store's iteration, for the user's own attributes. */
	struct mailbox_attribute_iter *local;
	/* Else the owner's keys and the next to return. */
	char **keys;
	unsigned int next;
	bool failed;
};

/* The owner of the folder when the attribute is the owner's, else NULL. */
static struct sic_owner *
sic_attribute_owner(struct mailbox *box, enum mail_attribute_type type_flags,
		    const char *key)
{
	struct sic_owner *owner = SIC_MAILBOX(box)->storage->owner;

	if ((type_flags & MAIL_ATTRIBUTE_TYPE_MASK) != MAIL_ATTRIBUTE_TYPE_SHARED ||
	    str_begins(key, MAILBOX_ATTRIBUTE_PREFIX_DOVECOT))
		return NULL;
	return owner;
}

int sic_attribute_set(struct mailbox_transaction_context *t,
		      enum mail_attribute_type type_flags, const char *key,
		      const struct mail_attribute_value *value)
{
	struct mailbox *box = t->box;
	struct sic_owner *owner = sic_attribute_owner(box, type_flags, key);
	struct sic_error error;
	const char *text;

	if (owner == NULL)
		return index_storage_attribute_set(t, type_flags, key, value);
	if (mailbox_attribute_value_to_string(box->storage, value, &text) < 0)
		return -1;
	i_zero(&error);
	if (sic_owner_metadata_set(owner, sic_mailbox_folder_name(box), key,
				   (const unsigned char *)text,
				   text == NULL ? 0 : strlen(text), &error) < 0) {
		sic_mailbox_report(box, &error);
		return -1;
	}
	return 0;
}

int sic_attribute_get(struct mailbox *box, enum mail_attribute_type type_flags,
		      const char *key, struct mail_attribute_value *value_r)
{
	struct sic_owner *owner = sic_attribute_owner(box, type_flags, key);
	struct sic_error error;
	char *value = NULL;
	int ret;

	if (owner == NULL)
		return index_storage_attribute_get(box, type_flags, key, value_r);
	i_zero(&error);
	ret = sic_owner_metadata_get(owner, sic_mailbox_folder_name(box), key,
				     &value, &error);
	if (ret < 0) {
		sic_mailbox_report(box, &error);
		return -1;
	}
	if (ret > 0) {
		value_r->value = t_strdup(value);
		sic_string_free(value);
	}
	return ret;
}

struct mailbox_attribute_iter *
sic_attribute_iter_init(struct mailbox *box, enum mail_attribute_type type_flags,
			const char *prefix)
{
	struct sic_owner *owner = sic_attribute_owner(box, type_flags, prefix);
	struct sic_attribute_iter *iter;
	struct sic_error error;
	char *keys;

	iter = i_new(struct sic_attribute_iter, 1);
	iter->iter.box = box;
	if (owner == NULL) {
		iter->local = index_storage_attribute_iter_init(box, type_flags,
								prefix);
		return &iter->iter;
	}
	i_zero(&error);
	keys = sic_owner_metadata_keys(owner, sic_mailbox_folder_name(box),
				       prefix, &error);
	if (keys == NULL) {
		sic_mailbox_report(box, &error);
		iter->failed = TRUE;
		return &iter->iter;
	}
	iter->keys = p_strsplit(default_pool, keys, "\n");
	sic_string_free(keys);
	return &iter->iter;
}

const char *sic_attribute_iter_next(struct mailbox_attribute_iter *_iter)
{
	struct sic_attribute_iter *iter = (struct sic_attribute_iter *)_iter;

	if (iter->local != NULL)
		return index_storage_attribute_iter_next(iter->local);
	if (iter->keys == NULL)
		return NULL;
	/* "" is what an owner without such keys answered. */
	while (iter->keys[iter->next] != NULL) {
		if (*iter->keys[iter->next] != '\0')
			return iter->keys[iter->next++];
		iter->next++;
	}
	return NULL;
}

int sic_attribute_iter_deinit(struct mailbox_attribute_iter *_iter)
{
	struct sic_attribute_iter *iter = (struct sic_attribute_iter *)_iter;
	int ret = iter->failed ? -1 : 0;

	if (iter->local != NULL)
		ret = index_storage_attribute_iter_deinit(iter->local);
	if (iter->keys != NULL)
		p_strsplit_free(default_pool, iter->keys);
	i_free(iter);
	return ret;
}
