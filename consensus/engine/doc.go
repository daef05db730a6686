// Package engine runs the pure consensus core (package consensus) for real:
// it feeds each event to core.Step and carries out the actions it returns.
//
// # One engine, stepped or run
//
// The engine is a steppable driver: [Engine.Start], then one input at a
// time, [Engine.Deliver] (a peer's message), [Engine.Fire] (a timer it set,
// now due) and [Engine.TxsAvailable]. It starts no goroutine and reads
// time only through Deps.Clock; its timers go through Deps.Timers, which
// hands them back with Fire. [Engine.Run] is the node's wrapper: one
// goroutine selecting over the transport's inbound messages, the timers
// (run on Deps.Clock), the mempool's signal and ctx.Done(). The simulator
// (package sim) steps N engines itself on a virtual clock, so the code
// that guards a validator in production is the code it tortures.
//
// A peer's vote or proposal outside the admission window (msgs.Status.Admits:
// the current height up to msgs.RoundsAhead rounds ahead, or the next
// height's first rounds) is dropped first, unchecked and unlogged. One
// inside is checked (signature, validator membership, the round's
// proposer); one that fails is reported with Transport.ReportPeer, one
// that passes is the engine's output Transport.Relay, and only then may
// the transport relay it to other peers. A ProposalHeaderMsg (a proposal whose block parts are still
// arriving) is only checked, so that its parts can stream on.
//
// # Block time
//
// Blocks are dated by BFT time, as in CometBFT v0.40.0: the first block
// at the genesis time, every later one at the voting-power-weighted median
// of its last commit's precommit timestamps ([types.MedianTime]), never by
// the proposer's clock. A proposed or synced block dated otherwise is
// invalid (a correct validator prevotes nil), and so is one dated
// Config.BlockTimeTolerance or more ahead of the Clock (CometBFT's
// block_time_tolerance; not checked on this node's own proposals, which it
// builds). Own votes are dated by the
// Clock, but at least 1 ms after the time of the block the core names
// (the locked block, else the round's proposal: [types.VoteTime]), so
// block times strictly increase.
//
// # The ordering rule
//
// Every input that changes the core is appended to the consensus WAL before
// the core sees it. This node's own proposals and votes are signed through
// the Signer and appended to the WAL with fsync (which also makes every
// earlier record durable) while the Signer saves its last-sign state: the
// two writes run together (Signer.SignVoteAlongside), and only once both
// are durable is the message broadcast and fed back to the core. So
// whatever the WAL must hold, and the signer's state, are durable before
// the message that follows them is sent. A signer that refuses (its
// double-sign guard, or a remote signer's refusal, timeout or failure)
// costs only that message: it is logged, not sent, and the round goes on
// to its timeouts.
//
// # Deciding a block
//
// On Decide the engine executes the block on the application
// (FinalizeBlock), saves block, seen commit, tx results, the FinalizeBlock
// response and the next state (validator sets with their proposer
// priorities, app hash, results hash, and the consensus parameters with
// the application's ConsensusParamUpdates applied, which rule from the next
// height: a proposal's txs fit block.max_bytes, a larger block is invalid,
// and an update that breaks the parameter rules stops the engine before
// anything is saved) in ONE atomic, synced call of the BlockStore port
// (SaveDecided), writes the WAL's end-of-height marker, calls Commit on the application,
// updates the mempool and, after the commit delay, starts the next height.
// A stop does not interrupt this once FinalizeBlock is sent: the height is
// saved and committed first, so the application is never left a height
// past the store.
// A CommitMsg for the current height (block sync, catch-up) is verified
// against the height's validator set and applied the same way.
//
// # Start and crash recovery
//
// [Engine.Run] first shakes hands with the application: InitChain at
// genesis, replay of the stored blocks the application has not committed,
// and a clear error ([ErrAppAhead], [ErrAppHashMismatch]) when the
// application is ahead of the store or disagrees with it. Then it replays
// the WAL records of the current height through the core with sends
// suppressed, rebuilding round, step, lock and valid value; signing requests
// the log does not answer are carried out afterwards, and the signer's
// last-sign state refuses any that would conflict with a signature whose
// WAL record was lost. An own message the log holds is sent again only once
// the signer's saved state covers it: a crash between the WAL's sync and
// the signer's save can leave it logged but not saved, and it is then
// re-signed (the same signature), and so saved, first. The other way
// round, a crash can leave the signer's state saved and the WAL record
// lost: the signer then refuses the vote the core asks for anew if it is
// for another value. That vote was never sent, so for a prevote, or a nil
// precommit, the engine looks for the one the signer did sign (the signer
// gives back its saved signature for it) and sends that instead: without
// it the round could lack this validator's vote for good and, with the
// others' votes split or missing, never reach a quorum. A prevote for a
// block the engine no longer knows (its proposal was lost with the WAL
// too) is looked for again when a proposal of that round arrives. A
// precommit for a block is not sent that way: the lock that came with it
// was lost with the WAL (see signedBefore).
//
// # Vote extensions
//
// From the height the consensus parameters name
// (abci.vote_extensions_enable_height, from the genesis or an
// application's ConsensusParamUpdates, in force from the next height), as
// in CometBFT v0.40.0: this node's precommit for a block carries the
// application's ExtendVote answer, which its own VerifyVoteExtension must
// accept (else the engine stops: the application's two calls disagree),
// and the signer signs the extension with the vote (CanonicalVoteExtension
// sign bytes). A peer's precommit is checked for the extension rules of its
// height (an extension signature on a precommit for a block, nothing
// anywhere else, at most types.MaxVoteExtensionSize bytes; a failure is
// reported), then the extension signature, then, unless it is this node's
// own, the application's VerifyVoteExtension: a rejected one is not
// counted, not relayed, and its sender not reported. The decided height's
// precommits with their extensions (types.ExtendedCommit) are saved with
// the block; the proposer of the next height loads them from the block
// store, so after a restart too, and gives them to PrepareProposal as
// local_last_commit (without extensions at a height that has none). A
// committed block from a peer (block sync, catch-up) at such a height must
// come with its extended commit, checked and verified, or it is refused.
//
// # Evidence
//
// Each equivocation the core reports (two signed votes of one validator for
// the same height, round and type) is logged with both votes, kept in a
// bounded, deduplicated in-memory list ([Engine.Evidence]) and passed to
// Config.OnEvidence. Once the block of its height is committed it becomes
// DuplicateVoteEvidence (that block's time, that height's validator set)
// in the evidence pool (Deps.Evidence). The proposer puts the pool's
// pending evidence in its block (within the consensus parameter
// evidence.max_bytes, taken from the txs' budget); a validator refuses (prevotes nil for) a proposal whose
// evidence the pool refuses; a committed block's evidence is marked
// committed; the application is told of it as ABCI Misbehavior in
// PrepareProposal, ProcessProposal and FinalizeBlock. The engine does not
// gossip evidence: p2p streams the pool's pending evidence to peers.
//
// Deps.WrapCore lets a caller decorate the state machine the engine steps;
// the node leaves it nil. Fault tests use it, with decorators around the
// Transport and the Signer, to make a validator misbehave (package
// internal/byzantine, linked only into tests and their own node binary).
//
// The dependencies are small interfaces declared here (BlockStore, Mempool,
// Clock, Timers) or in their own packages (app.Application,
// privval.Signer). In-memory fakes stand beside them: MemStore,
// MemMempool, FakeClock, the in-memory network of package memnet (a
// Transport, so a whole network of engines runs in one test process), the
// WAL and the signer's state on internal/diskfs.Mem.
package engine
