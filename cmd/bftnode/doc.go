// Command bftnode runs and operates a bftnode validator: it initializes home
// directories and local testnets, shows and generates keys, runs the
// deterministic consensus simulator, dumps the consensus WAL, resets chain
// data, and talks to a running node's JSON-RPC (tx, query, status).
//
// The commands are thin: they parse flags and call the packages that do the
// work (config, privval, sim, consensus/wal).
package main
