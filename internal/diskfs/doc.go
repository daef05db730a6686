// Package diskfs is the file system seam of the files whose durability
// guards a validator: the consensus WAL (package consensus/wal) and the
// signer's last-sign state (package privval). OS is the operating system's
// file system; Mem is an in-memory one that remembers what was synced, so
// that the simulator can crash it as a disk would be crashed: Mem.Crash
// keeps what was synced and tears what was not (a random prefix of an
// unsynced tail, old or new content sector by sector where a file was
// overwritten in place). Creating, renaming and removing a file take effect
// at once (a journaling file system's metadata, which SyncDir makes
// durable on a real disk); only data can be lost.
package diskfs
