// Package query is CometBFT's event query language, as its subscribe,
// tx_search and block_search take it: conditions joined by AND, such as
// "tm.event='Tx' AND transfer.sender='alice' AND tx.height > 5", with the
// operators =, <, <=, >, >=, CONTAINS and EXISTS, and operands that are
// single-quoted strings, numbers, or TIME and DATE values.
//
// [Parse] turns a string into a [Query] (at most [MaxConditions]
// conditions; anything else is an error wrapping [ErrInvalid]).
// [Query.Matches] checks a query against an event's attributes, and
// [Query.Conditions] hands its conditions to an index to plan a search.
package query
