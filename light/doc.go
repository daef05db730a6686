// Package light is a verifying light client for bftnode and CometBFT chains:
// it follows a chain by checking signed headers instead of executing blocks.
//
// Starting from one header the user trusts (a height and its hash, obtained
// out of band), it verifies later headers either sequentially (each header
// against the one before it) or by skipping (bisection): a header far ahead
// is accepted when validators holding more than the trust level (default
// 1/3) of the trusted set's power signed its commit, and more than 2/3 of
// its own set did; when they did not, the client verifies a header halfway
// first. A trusted header older than the trusting period no longer vouches
// for anything.
//
// verifier.go holds the pure checks (no I/O, the time passed in); client.go
// drives them over a primary Provider and cross-checks every verified header
// with the witnesses (detector.go): a witness that proves a different header
// at the same height stops the client, and both light blocks are kept as
// evidence, written as JSON for later accountability. As CometBFT's light
// client does, it also builds light client attack evidence against each
// side, from where the two chains part (attack.go), and reports it to the
// other side (broadcast_evidence, through an EvidenceReporter such as the
// RPCProvider), whose evidence pool verifies it. store.go keeps
// trusted light blocks in Pebble. rpcprovider.go reads light blocks from a
// node's JSON-RPC (bftnode's or CometBFT's: rpcjson.go has the JSON shapes
// they share; priorities.go the validator set with the proposer priorities a
// node reports, which state sync needs to build a node's state). proxy.go serves the verified data as an rpc.Backend, so the
// rpc package's server answers in CometBFT's JSON.
package light
