"""People: faces grouped into the people in a library (face clustering), and the user's word on them."""
