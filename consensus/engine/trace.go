package engine

import (
	"time"

	"github.com/bftnode/bftnode/types"
)

// heightTrace records when this node reached each point of the height it
// is deciding, so that a debug log line per decided height says where the
// height's wall time went (see logTrace). Times are the real clock's, not
// Deps.Clock's: they measure this process, not consensus time.
type heightTrace struct {
	prevDone  time.Time // the previous height was over (zero for the first)
	start     time.Time // StartHeight stepped
	proposal  time.Time // the complete proposed block in hand (own or a peer's)
	prevote   time.Time // own prevote signed, logged and sent
	precommit time.Time // own precommit signed, logged and sent (2/3 prevotes seen)
	decide    time.Time // 2/3 precommits seen: the core decided
	saved     time.Time // FinalizeBlock done and the block and state saved (synced)
	walEnd    time.Time // the WAL's end-height marker synced
	committed time.Time // the application's Commit returned
	done      time.Time // the mempool updated: the height is over
	// sign adds up the time spent signing own messages until they could
	// be sent: the signer's save of its last-sign state and the WAL's
	// sync, which run together; walSync adds up the WAL's part.
	sign, walSync time.Duration
	// voteAge adds up, over the peers' votes of the height, the time from
	// the vote's timestamp (taken by its signer just before signing) to
	// its arrival here: the signer's persistence plus the gossip hop, and
	// any clock skew between the two nodes.
	voteAge time.Duration
	votes   int
}

// mark sets *t to now unless it is already set.
func mark(t *time.Time) {
	if t.IsZero() {
		*t = time.Now()
	}
}

// ms is the time from a to b in milliseconds, or -1 when either is unset.
func ms(a, b time.Time) float64 {
	if a.IsZero() || b.IsZero() {
		return -1
	}
	return float64(b.Sub(a).Microseconds()) / 1000
}

// markVote records an own vote of the given type being sent.
func (tr *heightTrace) markVote(t types.SignedMsgType) {
	switch t {
	case types.PrevoteType:
		mark(&tr.prevote)
	case types.PrecommitType:
		mark(&tr.precommit)
	}
}

// logTrace logs, at debug level, the phases of the height just decided.
// Each phase is measured from the previous point reached; a phase whose
// point this node skipped (no prevote signed, say) is -1.
func (e *Engine) logTrace(h int64) {
	tr := &e.trace
	if tr.start.IsZero() {
		return
	}
	e.log.Debug("height timing", "height", h,
		"commit_delay_ms", ms(tr.prevDone, tr.start),
		"start_to_proposal_ms", ms(tr.start, tr.proposal),
		"proposal_to_prevote_ms", ms(tr.proposal, tr.prevote),
		"prevote_to_precommit_ms", ms(tr.prevote, tr.precommit),
		"precommit_to_decide_ms", ms(tr.precommit, tr.decide),
		"finalize_save_ms", ms(tr.decide, tr.saved),
		"wal_end_ms", ms(tr.saved, tr.walEnd),
		"app_commit_ms", ms(tr.walEnd, tr.committed),
		"mempool_update_ms", ms(tr.committed, tr.done),
		"total_ms", ms(tr.start, tr.done),
		"sign_ms", float64(tr.sign.Microseconds())/1000,
		"wal_sync_ms", float64(tr.walSync.Microseconds())/1000,
		"peer_vote_age_ms", tr.meanVoteAge(),
	)
}

// meanVoteAge is the mean age of peers' votes on arrival, in milliseconds
// (-1 without any).
func (tr *heightTrace) meanVoteAge() float64 {
	if tr.votes == 0 {
		return -1
	}
	return float64((tr.voteAge / time.Duration(tr.votes)).Microseconds()) / 1000
}
