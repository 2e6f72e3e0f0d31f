// Public entry of @osm/k8s-informers.
