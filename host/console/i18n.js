// ClientHub console: every word an operator reads, in Russian (the default) and English.
// `t(key, …args)` looks a text up in the chosen language; `label(group, value)` names a value
// the API speaks (a status, a history stage, a channel) for people. The choice is kept in
// localStorage ('lang').
'use strict';

const LANG = localStorage.getItem('lang') === 'en' ? 'en' : 'ru';

const TEXTS = {
  ru: {
    inbox: 'Обращения', sla: 'SLA', directory: 'Справочник', plugins: 'Плагины', team: 'Команда', newAppeal: 'Новое обращение',
    signOut: 'Выйти', signIn: 'Войти', signInTitle: 'Вход', login: 'Логин', password: 'Пароль', code: 'Код из приложения',
    token: 'Токен API', signInToken: 'Войти по токену',
    tokenHint: 'Или токен API: токен администратора или выданный `clienthub token create`.',
    inviteTitle: 'Приглашение в ClientHub', invitePassword: 'Новый пароль, от 12 символов',
    inviteHint: 'Придумайте пароль: не короче 12 символов, подойдёт фраза из нескольких слов.', setPassword: 'Задать пароль',
    passwordSet: (who) => `Пароль задан. Войдите как ${who}.`, sessionEnded: 'сеанс завершён: войдите снова',
    failed: (what, why) => `${what}: не удалось — ${why}`,
    search: 'Поиск: слова, телефон, e-mail', any: (what) => `${what}: все`, mine: 'Мои', overdueOnly: 'Просроченные',
    shown: (n) => `показано: ${n}`, more: 'Показать ещё 50', live: 'обновляется сам', keys: '↑↓ — выбор, Enter — открыть, / — поиск',
    received: 'Получено', channel: 'Канал', status: 'Статус', priority: 'Приоритет', queue: 'Очередь', contact: 'Клиент',
    text: 'Текст', region: 'Регион', department: 'Отдел', assignee: 'Исполнитель', topic: 'Тема', reactionDue: 'Реакция до',
    resolutionDue: 'Решить до', tags: 'Метки', overdue: 'просрочено',
    appeal: 'Обращение', conversation: 'Переписка', client: 'клиент', followUp: 'ещё сообщение', reply: 'ответ',
    replyTitle: 'Ответ клиенту', replyPlaceholder: 'Ответ клиенту в его канал', send: 'Отправить', template: 'Готовый ответ…',
    attempts: (n) => `попыток: ${n}`, nextTry: (at) => `следующая попытка: ${at}`, retryNow: 'Повторить сейчас',
    replyWillRetry: (why) => `Не дошёл до платформы, попробуем снова: ${why}`,
    actions: 'Действия', take: 'Взять в работу', takeFor: 'Назначить', handToEmployee: 'Передать сотруднику',
    handToDepartment: 'Передать в отдел', escalate: 'Эскалировать', pause: 'Пауза', resume: 'Продолжить', resolve: 'Решено',
    reopen: 'Открыть снова', reprocess: 'Обработать заново', reason: 'Причина (пауза, передача, смена темы)',
    notes: 'Внутренние заметки', notePlaceholder: 'Заметка для коллег: клиенту не отправляется', addNote: 'Добавить заметку',
    checklist: 'Чек-лист', required: 'обязательно', reclassify: 'Изменить маршрут', reclassifyDo: 'Сохранить маршрут',
    routeAgain: 'Распределить заново', unchanged: '— без изменений —', changedShow: 'Обращение изменилось — показать',
    history: 'История', when: 'Когда', stage: 'Этап', plugin: 'Плагин', detail: 'Подробности',
    earlier: 'Другие обращения клиента', none: 'нет', routing: 'Маршрут', reasonOfRoute: 'Причина', crm: 'CRM',
    mastersNoReply: 'Мастер не отвечает клиенту в этом отделе: оставьте заметку.',
    callCard: 'Новое обращение вручную', callChannel: 'Откуда', name: 'Имя', phone: 'Телефон', email: 'E-mail',
    subject: 'Тема письма', customerSaid: 'Что сказал клиент', autoTopic: '— тему определит маршрутизатор —',
    autoRegion: '— регион определит маршрутизатор —', create: 'Создать обращение',
    tryTitle: 'Проверка маршрутизации', tryText: 'Текст обращения, как пишет клиент', tryChannel: 'Канал', tryRun: 'Проверить',
    tryRouter: 'Маршрутизатор', tryActive: 'активный', tryReason: 'Почему', tryNothing: 'Ни одного маршрутизатора',
    previewRun: 'Предпросмотр изменений', previewTitle: (n, changed, router) => `Предпросмотр по ${n} последним обращениям (${router}): изменится ${changed}`,
    previewNow: 'сейчас', previewEdited: 'после правки', previewValue: 'Значение',
    directoryTitle: 'Справочник маршрутизации', save: 'Сохранить', exportJson: 'Экспорт JSON', importJson: 'Импорт JSON',
    exportCsv: 'Экспорт CSV', importCsv: 'Импорт CSV', add: 'Добавить', readOnly: 'Только чтение: правка — у администратора.',
    settings: 'Общие настройки', changes: 'Изменения', who: 'Кто', what: 'Что', noChange: 'без изменений',
    directorySaved: 'справочник сохранён', readFrom: (n, f) => `прочитано строк: ${n} из ${f} — проверьте и сохраните`,
    noId: (s, i) => `${s}: в строке ${i} нет id`, twice: (s, id) => `${s}: id ${id} встречается дважды`,
    noDepartment: (kind, id, d) => `${kind} ${id}: no department ${d} (нет такого отдела)`,
    notJson: (k) => `${k}: это не JSON`, wholeNumber: (k, v) => `${k}: нужно целое число, а не «${v}»`,
    teamTitle: 'Команда', employee: 'Сотрудник', since: 'С', openAppeals: 'Открытых обращений',
    slaTitle: 'SLA', overdueNow: 'просрочено сейчас', overdueList: 'Просроченные', nothingOverdue: 'Ничего не просрочено.',
    byChannel: 'Обращения по каналам', byTopic: 'Реакция и решение по темам (мин)', byDepartment: 'Реакция и решение по отделам (мин)',
    byEmployee: 'Ответы по сотрудникам', reactionAvg: 'реакция, ср.', reactionP90: 'реакция p90', resolutionAvg: 'решение, ср.',
    resolutionP90: 'решение p90', appeals: 'обращений', noData: 'данных пока нет', notMeasured: 'не измерялось',
    templates: 'Готовые ответы', templatesSaved: 'готовые ответы сохранены',
    templatesHint: 'Переменные: {{customer}} — имя клиента, {{appeal}} — номер обращения, {{store}} — магазин, {{topic}} — тема, {{operator}} — ваше имя. Пустая тема — для всех.',
    template_id: 'id', template_name: 'Название', template_topic: 'Тема (id)', template_text: 'Текст',
    reports: 'Отчёты', downloadCsv: 'Скачать CSV', showReport: 'Показать',
    report_appeals: 'Обращения', report_times: 'Время реакции и решения', report_overdue: 'Просрочки',
    report_answers: 'Ответы и обработка', report_csat: 'Оценки клиентов', report_dropped: 'Отсеянные фильтрами', answered: 'отвечено', neverAnswered: 'без ответа, доля',
    firstReply: 'первый ответ, ср. мин', handling: 'обработка, ср. мин',
    pluginsTitle: 'Плагины', upload: 'Загрузить компонент (.wasm)', kind: 'Вид', active: 'Активна', earlierVersions: 'Прежние',
    calls: 'Вызовы', errors: 'Ошибки', shadow: 'Тень', channels: 'Каналы',
    // The server's stable refusal codes, in words (a code without words shows the server's message).
    fileState: { pending: 'файл загружается…', failed: 'файл не получен', too_large: 'файл слишком большой', removed: 'файл удалён' },
    download: 'Скачать', close: 'Закрыть',
  },
  en: {
    inbox: 'Inbox', sla: 'SLA', directory: 'Directory', plugins: 'Plugins', team: 'Team', newAppeal: 'New appeal',
    signOut: 'Log out', signIn: 'Sign in', signInTitle: 'Sign in', login: 'Login', password: 'Password', code: 'Code from your app',
    token: 'API token', signInToken: 'Log in',
    tokenHint: 'Or an API token: the admin token, or one issued with `clienthub token create`.',
    inviteTitle: 'Invitation to ClientHub', invitePassword: 'New password, 12 characters or more',
    inviteHint: 'Choose a password of at least 12 characters; a phrase of several words is fine.', setPassword: 'Set the password',
    passwordSet: (who) => `Password set. Sign in as ${who}.`, sessionEnded: 'the session ended: log in again',
    failed: (what, why) => `${what} failed: ${why}`,
    search: 'search: words, phone, e-mail', any: (what) => `any ${what.toLowerCase()}`, mine: 'Mine', overdueOnly: 'Overdue',
    shown: (n) => `${n} shown`, more: 'Show 50 more', live: 'live', keys: '↑↓ select, Enter open, / search',
    received: 'Received', channel: 'Channel', status: 'Status', priority: 'Priority', queue: 'Queue', contact: 'Contact',
    text: 'Text', region: 'Region', department: 'Department', assignee: 'Assignee', topic: 'Topic', reactionDue: 'Reaction due',
    resolutionDue: 'Resolution due', tags: 'Tags', overdue: 'overdue',
    appeal: 'Appeal', conversation: 'Conversation', client: 'client', followUp: 'follow-up', reply: 'reply',
    replyTitle: 'Reply', replyPlaceholder: 'Reply to the client through their channel', send: 'Send', template: 'Ready answer…',
    attempts: (n) => `attempts: ${n}`, nextTry: (at) => `next try: ${at}`, retryNow: 'Retry now',
    replyWillRetry: (why) => `Did not reach the platform; will try again: ${why}`,
    actions: 'Actions', take: 'Take', takeFor: 'Assign', handToEmployee: 'Hand off to employee',
    handToDepartment: 'Hand off to department', escalate: 'Escalate', pause: 'Pause', resume: 'Resume', resolve: 'Resolve',
    reopen: 'Reopen', reprocess: 'Reprocess', reason: 'reason (pause, hand-off, reclassify)',
    notes: 'Internal notes', notePlaceholder: 'A note for colleagues: never sent to the client', addNote: 'Add note',
    checklist: 'Checklist', required: 'required', reclassify: 'Change the route', reclassifyDo: 'Save the route',
    routeAgain: 'Route again', unchanged: '— unchanged —', changedShow: 'The appeal changed — show it',
    history: 'History', when: 'When', stage: 'Stage', plugin: 'Plugin', detail: 'Detail',
    earlier: 'Earlier appeals', none: 'none', routing: 'Routing', reasonOfRoute: 'Reason', crm: 'CRM',
    mastersNoReply: 'Masters do not reply to clients in this department: leave a note.',
    callCard: 'New appeal by hand', callChannel: 'Source', name: 'Name', phone: 'Phone', email: 'E-mail',
    subject: 'Subject', customerSaid: 'What the client said', autoTopic: '— the router picks the topic —',
    autoRegion: '— the router picks the region —', create: 'Create the appeal',
    tryTitle: 'Routing bench', tryText: 'An appeal as a customer writes it', tryChannel: 'Channel', tryRun: 'Try',
    tryRouter: 'Router', tryActive: 'active', tryReason: 'Why', tryNothing: 'No router',
    previewRun: 'Preview the changes', previewTitle: (n, changed, router) => `Preview over the ${n} newest appeals (${router}): ${changed} would change`,
    previewNow: 'now', previewEdited: 'edited', previewValue: 'Value',
    directoryTitle: 'Routing directory', save: 'Save', exportJson: 'Export JSON', importJson: 'Import JSON',
    exportCsv: 'Export CSV', importCsv: 'Import CSV', add: 'Add', readOnly: 'Read only: editing needs the admin role.',
    settings: 'Settings', changes: 'Changes', who: 'Who', what: 'What', noChange: 'no change',
    directorySaved: 'directory saved', readFrom: (n, f) => `${n} rows read from ${f}: check and save`,
    noId: (s, i) => `${s}: row ${i} has no id`, twice: (s, id) => `${s}: id ${id} is used twice`,
    noDepartment: (kind, id, d) => `${kind} ${id}: no department ${d}`,
    notJson: (k) => `${k}: not JSON`, wholeNumber: (k, v) => `${k} must be a whole number, not "${v}"`,
    teamTitle: 'Team', employee: 'Employee', since: 'Since', openAppeals: 'Open appeals',
    slaTitle: 'SLA dashboard', overdueNow: 'overdue now', overdueList: 'Overdue', nothingOverdue: 'Nothing is overdue.',
    byChannel: 'Appeals by channel', byTopic: 'Reaction and resolution by topic (minutes)', byDepartment: 'Reaction and resolution by department (minutes)',
    byEmployee: 'Answers by employee', reactionAvg: 'reaction avg', reactionP90: 'reaction p90', resolutionAvg: 'resolution avg',
    resolutionP90: 'resolution p90', appeals: 'appeals', noData: 'no data yet', notMeasured: 'not measured',
    templates: 'Ready answers', templatesSaved: 'ready answers saved',
    templatesHint: 'Variables: {{customer}}, {{appeal}}, {{store}}, {{topic}}, {{operator}}. An empty topic: for all.',
    template_id: 'id', template_name: 'Name', template_topic: 'Topic (id)', template_text: 'Text',
    reports: 'Reports', downloadCsv: 'Download CSV', showReport: 'Show',
    report_appeals: 'Appeals', report_times: 'Reaction and resolution', report_overdue: 'Overdue',
    report_answers: 'Answers and handling', report_csat: 'Customer ratings', report_dropped: 'Dropped by filters', answered: 'answered', neverAnswered: 'never answered, share',
    firstReply: 'first reply, avg min', handling: 'handling, avg min',
    pluginsTitle: 'Plugins', upload: 'Upload a component (.wasm)', kind: 'Kind', active: 'Active', earlierVersions: 'Earlier',
    calls: 'Calls', errors: 'Errors', shadow: 'Shadow', channels: 'Channels',
    fileState: { pending: 'fetching the file…', failed: 'the file could not be fetched', too_large: 'the file is too large', removed: 'the file was deleted' },
    download: 'Download', close: 'Close',
  },
};

/** Names of the values the API speaks. */
const LABELS = {
  ru: {
    status: { new: 'Новое', routed: 'Распределено', in_work: 'В работе', paused: 'На паузе', triage: 'На разборе', dropped: 'Отсеяно', resolved: 'Решено' },
    stage: {
      received: 'Получено', kept: 'Пропущено фильтром', tagged: 'Помечено фильтром', dropped: 'Отсеяно фильтром', routed: 'Распределено',
      triage: 'На разбор', message: 'Сообщение клиента', assigned: 'Назначено', waiting: 'Ждёт в очереди', taken: 'Взято в работу',
      handed_off: 'Передано', escalated: 'Эскалировано', paused: 'Пауза', resumed: 'Продолжено', resolved: 'Решено',
      reopened: 'Открыто снова', overdue: 'Просрочено', reply_queued: 'Ответ в очереди', reply_sent: 'Ответ отправлен',
      reply_failed: 'Ответ не отправлен', reply_retry: 'Повтор ответа', reply_status: 'Статус ответа', reply_requested: 'Ответ из CRM',
      note: 'Заметка', checklist_done: 'Пункт выполнен', checklist_undone: 'Пункт снят', reclassified: 'Маршрут изменён',
      created: 'Создано вручную', reprocessed: 'Обработано заново', crm: 'CRM', crm_delivered: 'Передано в CRM', notice: 'Уведомление',
      file_stored: 'Файл получен', file_failed: 'Файл не получен', rated: 'Оценка клиента', rated_low: 'Низкая оценка',
    },
    channel: { phone: 'Телефон', visit: 'Визит', book: 'Книга жалоб', email: 'E-mail', webform: 'Форма на сайте', telegram: 'Telegram', whatsapp: 'WhatsApp', vk: 'ВКонтакте', ok: 'Одноклассники', reviews: 'Отзывы', jivo: 'Jivo', zadarma: 'Zadarma', mango: 'Mango' },
    priority: { low: 'Низкий', normal: 'Обычный', high: 'Высокий', urgent: 'Срочный' },
    reply: { queued: 'в очереди', sent: 'отправлен', delivered: 'доставлен', read: 'прочитан', failed: 'ошибка' },
    presence: { available: 'Доступен', away: 'Отошёл', off: 'Не на работе' },
    role: { viewer: 'наблюдатель', master: 'мастер', operator: 'оператор', supervisor: 'руководитель', admin: 'администратор' },
    field: {
      id: 'id', name: 'Название', cities: 'Города', stores: 'Магазины', time_zone: 'Часовой пояс', queue: 'Очередь',
      fallback_queue: 'Резервная очередь', escalate_to: 'Эскалация в', escalate_after_minutes: 'Эскалация через, мин',
      manager: 'Руководитель', notify: 'Уведомления', notify_regions: 'Уведомления по регионам', external: 'Внешний подрядчик',
      masters_may_reply: 'Мастера отвечают клиенту', department: 'Отдел', regions: 'Регионы', active: 'Работает',
      crm_user_id: 'ID в CRM', max_open: 'Макс. открытых', working_hours: 'Часы работы', days_off: 'Выходные',
      keywords: 'Ключевые слова', reaction_minutes: 'Реакция, мин', resolution_minutes: 'Решение, мин',
      business_hours: 'В рабочее время', checklist: 'Чек-лист', utc_offset_minutes: 'Смещение от UTC, мин',
      holidays: 'Праздники', pause_limit_minutes: 'Предел паузы, мин', notices: 'Уведомления о работе (JSON)',
      exact_keywords: 'Слова точно', exclusions: 'Исключения', channels: 'Каналы', priority: 'Приоритет',
      key: 'Поле', pattern: 'Шаблон', region: 'Регион',
    },
    section: { regions: 'Регионы', departments: 'Отделы', employees: 'Сотрудники', topics: 'Темы', patterns: 'Номера в тексте' },
  },
  en: {
    status: { new: 'New', routed: 'Routed', in_work: 'In work', paused: 'Paused', triage: 'Triage', dropped: 'Dropped', resolved: 'Resolved' },
    stage: {
      received: 'Received', kept: 'Kept by a filter', tagged: 'Tagged by a filter', dropped: 'Dropped by a filter', routed: 'Routed',
      triage: 'To triage', message: 'Customer message', assigned: 'Assigned', waiting: 'Waiting in queue', taken: 'Taken into work',
      handed_off: 'Handed off', escalated: 'Escalated', paused: 'Paused', resumed: 'Resumed', resolved: 'Resolved',
      reopened: 'Reopened', overdue: 'Overdue', reply_queued: 'Reply queued', reply_sent: 'Reply sent',
      reply_failed: 'Reply failed', reply_retry: 'Reply retried', reply_status: 'Reply status', reply_requested: 'Reply from the CRM',
      note: 'Note', checklist_done: 'Checklist item done', checklist_undone: 'Checklist item undone', reclassified: 'Reclassified',
      created: 'Created by hand', reprocessed: 'Reprocessed', crm_delivered: 'Delivered to the CRM', notice: 'Notice',
      file_stored: 'File fetched', file_failed: 'File not fetched', rated: 'Customer rating', rated_low: 'Low rating',
    },
    channel: { phone: 'Phone', visit: 'Walk-in', book: 'Complaint book', email: 'E-mail', webform: 'Site form', telegram: 'Telegram', whatsapp: 'WhatsApp', vk: 'VK', ok: 'OK', reviews: 'Reviews', jivo: 'Jivo', zadarma: 'Zadarma', mango: 'Mango' },
    priority: { low: 'Low', normal: 'Normal', high: 'High', urgent: 'Urgent' },
    reply: {},
    presence: { available: 'Available', away: 'Away', off: 'Off' },
    role: {},
    field: {
      id: 'id', name: 'Name', cities: 'Cities', stores: 'Stores', time_zone: 'Time zone', queue: 'Queue',
      fallback_queue: 'Fallback queue', escalate_to: 'Escalate to', escalate_after_minutes: 'Escalate after, min',
      manager: 'Manager', notify: 'Notices', notify_regions: 'Notices by region', external: 'External contractor',
      masters_may_reply: 'Masters reply to clients', department: 'Department', regions: 'Regions', active: 'Active',
      crm_user_id: 'CRM user id', max_open: 'Max open', working_hours: 'Working hours', days_off: 'Days off',
      keywords: 'Keywords', reaction_minutes: 'Reaction, min', resolution_minutes: 'Resolution, min',
      business_hours: 'Business hours', checklist: 'Checklist', utc_offset_minutes: 'Offset from UTC, min',
      holidays: 'Holidays', pause_limit_minutes: 'Pause limit, min', notices: 'Work notices (JSON)',
      exact_keywords: 'Exact words', exclusions: 'Exclusions', channels: 'Channels', priority: 'Priority',
      key: 'Field', pattern: 'Pattern', region: 'Region',
    },
    section: { regions: 'Regions', departments: 'Departments', employees: 'Employees', topics: 'Topics', patterns: 'Numbers in the text' },
  },
};

/** Why a call to a platform did not go through, in the console's language (the platform's own
 * words stay as they are). */
const ERROR_PHRASES = [
  ['could not reach', 'нет связи с'], ['the call failed', 'вызов не удался'], ['dns error', 'адрес не найден (DNS)'],
  ['failed to lookup address information', 'не удалось найти адрес'], ['Connection refused', 'соединение отклонено'],
  ['timed out', 'истекло время ожидания'], ['client error (Connect)', 'ошибка соединения'],
];
function platformError(error) {
  if (LANG !== 'ru') return error;
  return ERROR_PHRASES.reduce((text, [en, ru]) => text.split(en).join(ru), error);
}

/** A text in the chosen language. */
function t(key, ...args) {
  const text = TEXTS[LANG][key] ?? TEXTS.en[key] ?? key;
  return typeof text === 'function' ? text(...args) : text;
}

/** A refusal of the API in words: the server's, in the console's language (it is asked in it). */
function errorText(data, fallback) {
  return (data && typeof data === 'object' && data.error) || fallback;
}

/** A value the API speaks, named for people (the value itself when there is no name). */
function label(group, value) {
  return (LABELS[LANG][group] || {})[value] ?? value;
}
