// Package memnet is an in-memory network of consensus engines: each
// Endpoint implements engine.Transport, so a whole validator network runs
// in one test process. Delivery is immediate and lossless unless an inbox
// is full; a node that announces a height its peers have already
// committed is sent the block and its commit (catch-up), the way block sync
// would.
package memnet
