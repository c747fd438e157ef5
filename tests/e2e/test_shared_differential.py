"""The owner's own folder is the oracle: bob reading alice's folder through
shared_imapc must get the answers alice gets reading its twin directly, for
hand-written sequences of each case issue #16 names and for randomized ones
(a fixed set of seeds here; `make soak SECONDS=…` runs new seeds for as
long as it is given)."""

import os
import random
import time

import pytest

from support.differential import DATE, KEYWORDS, Differential, message, random_step

STEPS = 30
SEEDS = [1, 2, 3]


@pytest.fixture
def diff(make_cluster):
    diff = Differential(make_cluster(shared_imapc=True))
    for side in ("SELECT {folder}",):
        diff.step(side)
    yield diff
    diff.close()
    assert plugin_problems(diff.cluster) == {}


def test_reading_every_item_answers_as_the_owner(diff):
    diff.step("FETCH 1:* (UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE BODYSTRUCTURE)")
    diff.step("FETCH 2:4 (BODY.PEEK[HEADER] BODY.PEEK[TEXT] BODY.PEEK[1] BINARY.SIZE[1])")
    diff.step("UID FETCH 3:* (BODY[])")
    diff.step("FETCH 1:* (FLAGS)")


def test_changes_copies_and_expunges_answer_as_the_owner(diff):
    diff.step(f"STORE 1:3 +FLAGS (\\Flagged {KEYWORDS[0]})")
    diff.step("UID STORE 2 -FLAGS.SILENT (\\Flagged)")
    diff.step("COPY 1:2 {other}")
    diff.step("UID MOVE 3 {other}")
    diff.step("STORE 1 +FLAGS (\\Deleted)")
    diff.step("EXPUNGE")
    diff.step(f"APPEND {{folder}} (\\Seen $Work) {DATE}", message(100, " (viewer)"))
    diff.step("NOOP")
    diff.step("FETCH 1:* (UID FLAGS)")
    diff.step("SELECT {other}")
    diff.step("FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")


def test_a_keyword_named_nil_answers_as_the_owner(diff):
    diff.step("STORE 2 +FLAGS (NIL)")
    diff.step("SELECT {folder}")
    diff.step("FETCH 1:* (FLAGS)")


def test_the_owners_changes_reach_the_viewer_as_they_reach_the_owner(diff):
    diff.owner_appends()
    diff.owner_flags(2, "+FLAGS (\\Answered Todo)")
    diff.step("NOOP")
    diff.step("FETCH 1:* (UID FLAGS)")
    diff.step("SEARCH KEYWORD Todo")


def test_a_keyword_only_ever_removed_is_listed_as_the_owners(diff):
    """No message has it, but the folder knows it now: FLAGS lists it
    (found by the soak)."""
    diff.owner_flags(1, "+FLAGS ($Later)")
    diff.step("NOOP")
    diff.owner_flags(1, "-FLAGS ($Later Todo)")
    diff.step("NOOP")
    diff.step("SELECT {folder}")


@pytest.mark.parametrize("seed", SEEDS)

def test_a_randomized_sequence_answers_as_the_owner(diff, seed):
    rng = random.Random(seed)
    for _ in range(STEPS):
        random_step(diff, rng)
    diff.step("SELECT {folder}")
    diff.step("FETCH 1:* (UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")


@pytest.mark.skipif(not os.environ.get("SHARED_IMAPC_SOAK_SECONDS"), reason="make soak SECONDS=… runs it")
def test_soak(make_cluster):
    """New seeds, one cluster each, for SHARED_IMAPC_SOAK_SECONDS."""
    stop = time.monotonic() + float(os.environ["SHARED_IMAPC_SOAK_SECONDS"])
    seed = int(time.time())
    while time.monotonic() < stop:
        seed += 1
        diff = Differential(make_cluster(shared_imapc=True))
        diff.step("SELECT {folder}")
        rng = random.Random(seed)
        try:
            for _ in range(STEPS * 3):
                random_step(diff, rng)
        except Exception as e:
            raise AssertionError(f"seed {seed}: {e!r}") from None
        diff.close()
        assert plugin_problems(diff.cluster) == {}, f"seed {seed}"
        diff.cluster.remove()


# Dovecot 2.3.19's own THREAD logs this now and then on the owner's
# backend, about her Maildir's thread index, whoever asked (alice on her
# folders, or bob's remote session): not the plugin's doing.
DOVECOT_THREAD_INDEX_RACE = "stat() failed with strmap index file"


def plugin_problems(cluster) -> dict[str, list[str]]:
    """The cluster's error lines but those of alice's direct folders (the
    oracle's, which shared_imapc never reads) and Dovecot's thread index
    race on her backend."""
    problems = {
        name: [
            line
            for line in lines
            if "Mailbox o-" not in line and not (name == "backenda" and DOVECOT_THREAD_INDEX_RACE in line)
        ]
        for name, lines in cluster.problems().items()
    }
    return {name: lines for name, lines in problems.items() if lines}
