// Package consensus is the pure Tendermint consensus core: Algorithm 1 of
// "The latest gossip on BFT consensus" (Buchman, Kwon, Milosevic, 2018) as a
// deterministic state machine. It does no I/O, starts no goroutines, takes
// no locks and reads no clock: the engine (consensus/engine) feeds it events
// with State.Step and carries out the actions it returns, in order.
//
// # Events in, actions out
//
// Events: StartHeight, ProposalReceived, ValueReceived, ValueReady,
// ValidityChecked, VoteReceived, CommitReceived, TimeoutFired. Actions:
// RequestValue, ValidateValue, SignProposal, SignVote, ScheduleTimeout,
// Decide, ReportEvidence. The caller authenticates messages (signatures,
// proposer of the round) before they become events; the core checks that a
// vote's validator belongs to the height's set and refuses malformed input
// with ErrInvalidMessage, ErrUnknownValidator or ErrNotStarted, leaving its
// state unchanged.
//
// After every event, State.evaluate applies the upon-rules until none fires,
// so no rule depends on the order in which its inputs arrived. Thresholds
// are counted by voting power in one place, the vote keeper
// (votekeeper.go): 2f+1 is more than 2/3 of the total power, f+1 more than
// 1/3.
//
// # Paper line → code
//
//	L1-L10  state of a validator          State fields; resetHeight (per height)
//	L11-L21 StartRound(r)                 State.startRound
//	L14-L16   re-propose validValue        startRound (SignProposal, POL = validRound)
//	L18       getValue()                   startRound (RequestValue) → onValueReady
//	L19       broadcast PROPOSAL, vr = -1  onValueReady (SignProposal)
//	L21       schedule timeoutPropose      startRound → scheduleTimeout
//	L22-L27 PROPOSAL(v, -1) at propose    ruleProposal → prevoteFor
//	L28-L33 PROPOSAL(v, vr) + polka in vr ruleProposalWithPOL → prevoteFor
//	L34-L35 2f+1 PREVOTE(*) at prevote    rulePrevoteTimeout
//	L36-L43 PROPOSAL(v) + polka, valid    ruleLock (lock, precommit, validValue)
//	L44-L46 2f+1 PREVOTE(nil) at prevote  ruleNilPrecommit
//	L47-L48 2f+1 PRECOMMIT(*)             rulePrecommitTimeout
//	L49-L54 2f+1 PRECOMMIT(v), any round  ruleDecide (also a CommitReceived commit)
//	L55-L56 f+1 messages of round > round ruleSkipRound (voteKeeper.highestSkipRound)
//	L57-L60 OnTimeoutPropose              State.onTimeout, StepPropose
//	L61-L64 OnTimeoutPrevote              State.onTimeout, StepPrevote
//	L65-L67 OnTimeoutPrecommit            State.onTimeout, StepPrecommit
//	timeoutX(r) = X + r·XDelta            Timeouts.For
//	valid(v)                              validOf (ValidateValue / ValidityChecked)
//	proposer(h, r)                        types.ValidatorSet.ProposerForRound
//
// # Deviations from the pseudo-code
//
//   - valid(v) is asynchronous: a rule that needs it asks once
//     (ValidateValue) and waits for ValidityChecked; the block must be
//     complete first (ValueReceived).
//   - L49 decides from the block and 2f+1 precommits without the round's
//     proposal: the block ID binds the contents, so a node catching up can
//     decide. CommitReceived takes a verified commit as those precommits.
//   - The core never signs: own votes and proposals leave unsigned
//     (SignVote, SignProposal) and come back as events once the engine has
//     signed and persisted them. It never asks to sign two proposals for
//     one round.
//   - A second, different vote of one validator for one round and type is
//     reported (ReportEvidence). It counts for its own value, as the paper
//     counts messages per value, but never twice towards a validator's power
//     for "any value" (L34, L47) or round skipping (L55).
//   - Votes and proposals more than MaxRoundsAhead rounds ahead are dropped.
//   - ForgetLocks exists only to simulate an amnesic (Byzantine) validator.
//   - For BFT time, SignVote names the block whose time the vote's
//     timestamp must exceed (After: the locked block, else the round's
//     proposal); the core knows block IDs only, the engine their times.
package consensus
