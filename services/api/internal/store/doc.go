// Package store is the api's durable message store. (Design notes follow
// in the next commits.)
package store
