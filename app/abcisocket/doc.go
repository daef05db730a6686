// Package abcisocket carries ABCI over a stream socket, wire-compatible with
// CometBFT v0.38 and v0.40 (including v0.40's InsertTx and ReapTxs, for an
// app-side mempool, sent on the mempool connection): [Serve] and
// [ListenAndServe] expose any app.Application on a
// tcp:// or unix:// address, and [Client] implements app.Application by
// calling such a server, so the node runs an in-process or an out-of-process
// application through the same interface.
//
// # Framing
//
// Each message is its length as an unsigned varint (protobuf's varint, as
// written by encoding/binary.PutUvarint and by CometBFT's libs/protoio),
// followed by that many bytes of the protobuf encoding of an abci.Request
// (node to application) or abci.Response (application to node). Responses come back in request order on each
// connection. A Flush request asks the server to send every buffered response;
// the client sends one after each request.
//
// # Connections
//
// The node opens one connection per role (consensus, mempool, query,
// snapshot) so that, say, a slow Query does not delay FinalizeBlock. A
// connection that breaks, answers something that is not a well-formed
// response to the request, or does not answer in time is dead: every call on
// it then fails with an error wrapping [ErrAppDead].
package abcisocket
