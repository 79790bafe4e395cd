// placeholder until this folder's sources land
