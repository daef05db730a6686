// Package byzantine makes a validator misbehave on purpose, for fault tests
// only. It is imported by _test.go files and by the test-only
// bftnode-byzantine binary (cmd/bftnode-byzantine here); the bftnode
// command links none of it (TestNotInProductionBinary holds that).
//
// A Byzantine validator is a correct engine with decorators around its
// dependencies, installed by [Decorate] on the engine.Deps before the
// engine is built (node.WithEngineDeps for a whole node):
//
//   - [Signer] decorates the guarded signer with the raw key
//     ([ReadKey]). Every signature the engine asks for still goes through
//     the guarded signer; the raw key signs only the conflicting messages.
//   - the Transport decorator sends, next to or in place of the node's own
//     proposals and votes, the conflicting ones of its [Mode]: equivocate
//     (two blocks for a round, one to each half of the peers, and votes
//     for both), doublevote (a second prevote and precommit for another
//     value), futuretime (its proposals dated [FutureTimeSkew] ahead),
//     lockattack (as round-0 proposer, its proposal and votes only to the
//     peers it means to lock, and then fresh values; lockattack.go) and
//     garbage (a malformed message next to each of its own; garbage.go).
//     It sends to single peers through [DirectSender] when the transport
//     has it (p2p.Transport does).
//   - amnesia sets Deps.WrapCore: the consensus core forgets its lock and
//     valid value before every step; lockattack's core does too, and
//     takes the precommits for the value it split locks on for nil ones.
//
// The simulator's Byzantine validators are these decorators too: package
// simmodes puts them on the validators it picks (sim.Config.Decorate),
// colluding in a [Coalition], for the simulator's tests and the
// bftnode-sim development binary (cmd/bftnode-sim here).
package byzantine
