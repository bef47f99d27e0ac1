package store

import "errors"

// Errors the store's callers branch on. Returned errors wrap them with
// context; test with errors.Is.
var (
	// ErrNotFound: no message (or modem) with that id.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the client key is already used by a message with a
	// different body (HTTP 409).
	ErrConflict = errors.New("the id is already used by a different message")
	// ErrNotCancellable: the message is no longer queued (HTTP 409).
	ErrNotCancellable = errors.New("the message is no longer queued")
	// ErrInvalid: an argument the store refuses (HTTP 400 at the edge).
	ErrInvalid = errors.New("invalid")
	// ErrInvalidTransition: a part or message transition its current state
	// does not allow; a bug in the caller, never retried.
	ErrInvalidTransition = errors.New("invalid state transition")
	// ErrBadCursor: a list cursor that this store did not make, or made for
	// another filter.
	ErrBadCursor = errors.New("invalid cursor")
	// ErrActive: the outbound message is still queued or sending.
	ErrActive = errors.New("the message is still queued or being sent")
	// ErrExists: the backup's target file already exists.
	ErrExists = errors.New("file exists")
	// ErrUnsupported: the operation does not exist for this database
	// engine (a file backup of a PostgreSQL store).
	ErrUnsupported = errors.New("not supported")
)
