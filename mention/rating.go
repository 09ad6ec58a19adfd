package mention

import "time"

// ItemRating is the aggregate rating a site shows for a reviewed item (a
// hotel, an app, a product): its drift is a trend of its own.
type ItemRating struct {
	Source, Brand, Location string
	Item                    string // the item's name on the site
	URL                     string
	Rating, Best, Worst     float64
	RatingCount             uint64
	ReviewCount             uint64
	ObservedAt              time.Time
}
