// Tally's GraphiQL page: renders GraphiQL against the endpoints named on #graphiql.
// Queries and mutations are POSTed to data-endpoint; subscriptions use graphql-ws (bundled in
// graphiql.min.js) on data-subscription-endpoint. The headers typed in GraphiQL's Headers tab
// (e.g. {"Authorization": "Bearer <token>"}) go with every POST and, for subscriptions, in the
// connection_init payload, where the server reads them.
(function () {
  'use strict';

  var root = document.getElementById('graphiql');

  function absolute(path, websocket) {
    var url = new URL(path, window.location.href);
    if (websocket) {
      url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    }
    return url.toString();
  }

  var fetcher = GraphiQL.createFetcher({
    url: absolute(root.dataset.endpoint || '/graphql', false),
    subscriptionUrl: absolute(root.dataset.subscriptionEndpoint || '/graphql/ws', true),
    fetch: function (input, init) {
      return window.fetch(input, Object.assign({}, init, { credentials: 'same-origin' }));
    },
  });

  var defaultQuery = [
    '# Tally: every request needs a bearer token. Open "Headers" below and enter',
    '#   {"Authorization": "Bearer <token>"}',
    '# (`tally demo` prints one token per role). Then run the query with Ctrl-Enter.',
    '',
    '{',
    '  head {',
    '    seq',
    '  }',
    '}',
    '',
  ].join('\n');

  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: defaultQuery,
      defaultEditorToolsVisibility: 'headers',
    })
  );
})();
