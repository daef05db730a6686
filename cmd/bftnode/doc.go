// Command bftnode runs and operates a bftnode validator: it initializes home
// directories and local testnets, shows and generates keys, runs the
// deterministic consensus simulator (with --trace, one run step by step)
// and plays a run's trace in the web view (ui), dumps the consensus WAL,
// resets chain data, and talks to a running node's JSON-RPC (tx, query,
// status).
//
// The commands are thin: they parse flags and call the packages that do the
// work (config, privval, sim, ui, consensus/wal).
package main
