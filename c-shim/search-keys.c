/* Search keys as IMAP, for the remote: used by the storage's searches
   (search.c) and by the imap plugin's THREAD and SORT (imap.c), so it is
   built into both modules. */
#include "shim.h"
#include "str.h"
#include "mail-search.h"
#include "imap-util.h"
#include "storage.h"

static bool sic_arg_has_seqset(const struct mail_search_arg *arg)
{
	for (; arg != NULL; arg = arg->next) {
		if (arg->type == SEARCH_SEQSET)
			return TRUE;
		if ((arg->type == SEARCH_OR || arg->type == SEARCH_SUB) &&
		    sic_arg_has_seqset(arg->value.subargs))
			return TRUE;
	}
	return FALSE;
}

/* "UID <set>" for a set of local sequence numbers. */
static const char *sic_seqset_to_uids(struct mailbox *box,
				      const ARRAY_TYPE(seq_range) *seqset)
{
	ARRAY_TYPE(seq_range) uids;
	const struct seq_range *range;
	uint32_t count = mail_index_view_get_messages_count(box->view);
	uint32_t uid1, uid2;
	string_t *str = t_str_new(64);

	t_array_init(&uids, 8);
	array_foreach(seqset, range) {
		if (range->seq1 > count)
			continue;
		mail_index_lookup_uid(box->view, range->seq1, &uid1);
		mail_index_lookup_uid(box->view, I_MIN(range->seq2, count), &uid2);
		seq_range_array_add_range(&uids, uid1, uid2);
	}
	if (array_is_empty(&uids))
		return "NOT ALL";
	str_append(str, "UID ");
	imap_write_seq_range(str, &uids);
	return str_c(str);
}

/* One top-level key as IMAP, or NULL when only the local side knows it
   (Dovecot's own keys, or sequence numbers inside it). */
static const char *sic_arg_to_imap(struct mailbox *box,
				   const struct mail_search_arg *arg)
{
	struct mail_search_arg single = *arg;
	string_t *str = t_str_new(128);
	const char *error;

	single.next = NULL;
	if (arg->type == SEARCH_SEQSET && !arg->match_not)
		return sic_seqset_to_uids(box, &arg->value.seqset);
	if (arg->type == SEARCH_SEQSET ||
	    ((arg->type == SEARCH_OR || arg->type == SEARCH_SUB) &&
	     sic_arg_has_seqset(arg->value.subargs)))
		return NULL;
	if (!mail_search_arg_to_imap(str, &single, &error))
		return NULL;
	return str_c(str);
}

void sic_search_keys(struct mailbox *box, const struct mail_search_args *args,
		     ARRAY_TYPE(const_string) *keys_r)
{
	const struct mail_search_arg *arg;
	const char *key;

	t_array_init(keys_r, 8);
	for (arg = args->args; arg != NULL; arg = arg->next) {
		key = sic_arg_to_imap(box, arg);
		array_push_back(keys_r, &key);
	}
}
