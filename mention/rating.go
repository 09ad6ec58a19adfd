package mention

import (
	"fmt"
	"math"
	"time"
)

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

// DefaultRatingMax is the scale assumed for a rating given without one:
// star ratings out of 5 are the web's default.
const DefaultRatingMax = 5

// RatingScale is the scale to read a rating on, and when the rating cannot
// be read, or is read on an assumed scale, a note saying so (for a score's
// reasons). A rating without rating_max is out of 5 when it is a whole or
// half star from 1 to 5; any other (7, 0.3) has no scale to read it on.
// No rating (0) gives 0 and no note.
func RatingScale(rating, max float64) (float64, string) {
	switch {
	case rating <= 0:
		return 0, ""
	case max > 0 && rating > max:
		return 0, fmt.Sprintf("rating %g ignored: above its rating_max %g", rating, max)
	case max > 0:
		return max, ""
	case rating >= 1 && rating <= DefaultRatingMax && rating*2 == math.Trunc(rating*2):
		return DefaultRatingMax, fmt.Sprintf("rating %g/%d (no rating_max given: read as stars out of %d)", rating, DefaultRatingMax, DefaultRatingMax)
	default:
		return 0, fmt.Sprintf("rating %g ignored: no rating_max, and only whole or half stars from 1 to %d are read as out of %d", rating, DefaultRatingMax, DefaultRatingMax)
	}
}
