package msgs

// How far ahead of this node a peer's proposal, block part or vote may be
// for the node to hold, verify or relay it. Both the transport (before it
// stores anything) and the engine (before it checks a signature or writes
// the WAL) ask Status.Admits, so the policy lives here only.
const (
	// HeightsAhead: messages of the next height are held, since a peer
	// that committed first starts it before this node does.
	HeightsAhead = 1
	// RoundsAhead bounds the round of an admitted message: at most this
	// many rounds above the current round, and below it at the next
	// height (which starts at round 0). Honest validators more rounds
	// ahead are caught up with by round timeouts; meanwhile gossip
	// resends what a peer lacks once this node's round advances.
	RoundsAhead = 8
	// MaxValidators bounds a vote's validator index when the set's size
	// is unknown (CometBFT's MaxVotesCount).
	MaxValidators = 10000
)

// Admits reports whether a peer's message of height h and round r is
// within the window around s: the current height up to RoundsAhead rounds
// above s.Round, or the next height below round RoundsAhead. Nothing is
// admitted before consensus has started (the zero Status), and nothing of
// a past height: what this node holds of those it verified earlier.
func (s Status) Admits(h int64, r int32) bool {
	switch {
	case s.Height <= 0 || r < 0:
		return false
	case h == s.Height:
		return r <= s.Round+RoundsAhead
	case h > s.Height && h <= s.Height+HeightsAhead:
		return r < RoundsAhead
	}
	return false
}

// SetSize is the size of the validator set of height h, one of s.Height
// and s.Height+1 (MaxValidators when unknown): a vote whose validator
// index is not below it is invalid, whoever sends it.
func (s Status) SetSize(h int64) int {
	size := s.Validators
	if h != s.Height {
		size = s.NextValidators
	}
	if size <= 0 {
		size = MaxValidators
	}
	return size
}
