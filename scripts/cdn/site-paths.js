function handler(event) {
  var request = event.request;
  var uri = request.uri;
  var m = uri.match(/^\/(products|category)\/([a-z0-9-]{1,100})\/?$/);
  if (uri === '/' || uri === '/index.html') {
    request.uri = '/pages/index.html';
  } else if (m) {
    request.uri = '/pages/' + m[1] + '/' + m[2] + '.html';
  } else if (uri.lastIndexOf('.') < uri.lastIndexOf('/')) {
    request.uri = '/index.html';
  }
  return request;
}
